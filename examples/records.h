/* The demo's record format: "TAG:LEN:DATA;" repeated. records_parse prints a summary and returns
 * the number of records, or -1 for malformed input. It has a planted bug (see records.c). */
#ifndef RECORDS_H
#define RECORDS_H
#include <stddef.h>
int records_parse(const char *data, size_t size);
#endif
