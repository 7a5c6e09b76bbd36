/* The same parser as a libFuzzer-style fuzz target: link it with libforksrv_main.a and it is a
 * target the forksrv driver runs in persistent mode, or a corpus replayer on its own:
 *   cc -o fuzz_records fuzz_records.c records.c build/libforksrv_main.a
 *   forksrv -i corpus/ -- ./fuzz_records        # or: ./fuzz_records corpus/ */
#include <stddef.h>
#include <stdint.h>

#include "records.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  records_parse((const char *)data, size);
  return 0;
}
