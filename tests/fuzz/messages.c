/* Fuzzes every decoder of fifo/protocol.h (hello, notice, request, result) with arbitrary bytes: they
 * must never read outside the message, and whatever a decoder accepts must encode back to exactly the
 * bytes it came from. */
#include <stddef.h>
#include <stdint.h>

#include "../../fifo/protocol.h"

static int same(const unsigned char *a, const unsigned char *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (a[i] != b[i]) return 0;
  return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  unsigned char again[FIFO_RESULT_SIZE];
  if (size == FIFO_RESULT_SIZE) {
    struct fifo_result r;
    if (fifo_decode_result(data, &r) == 0) {
      fifo_encode_result(again, &r);
      if (!same(again, data, FIFO_RESULT_SIZE)) __builtin_trap();
    }
  }
  if (size == FIFO_HELLO_SIZE) {
    struct fifo_hello h;
    if (fifo_decode_hello(data, &h) == 0) {
      fifo_encode_hello(again, &h);
      if (!same(again, data, FIFO_HELLO_SIZE)) __builtin_trap();
    }
  }
  if (size == FIFO_NOTICE_SIZE) {
    struct fifo_notice n;
    if (fifo_decode_notice(data, &n) == 0) {
      fifo_encode_notice(again, &n);
      if (!same(again, data, FIFO_NOTICE_SIZE)) __builtin_trap();
    }
  }
  if (size == FIFO_REQUEST_SIZE) {
    struct fifo_request q;
    if (fifo_decode_request(data, &q) == 0) {
      fifo_encode_request(again, &q);
      if (!same(again, data, FIFO_REQUEST_SIZE)) __builtin_trap();
    }
  }
  return 0;
}
