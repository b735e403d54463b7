/*
 * A small floating-point workload for the guest: its output, run inside bt86,
 * must equal the same static binary's output run natively on the host. It uses
 * the x87 through ordinary C (gcc -m32 without SSE): arithmetic, libm
 * transcendentals, conversions and printf formatting.
 */
#include <math.h>
#include <stdio.h>

int main(void) {
  double acc = 0.0;
  for (int i = 1; i <= 2000; i++) {
    double x = i * 0.001;
    acc += sin(x) * cos(x / 3.0) + sqrt(x) / (1.0 + x * x) + log1p(x) - exp(-x);
  }
  long double e = 1.0L;
  long double term = 1.0L;
  for (int k = 1; k < 25; k++) {
    term /= k;
    e += term;
  }
  float f = 1.0f / 3.0f;
  long long big = (long long)(acc * 1e9);
  printf("acc=%.12g\n", acc);
  printf("e=%.18Lg\n", e);
  printf("f=%.9g atan2=%.14g pow=%.14g\n", f, atan2(1.0, -2.0), pow(2.5, 7.25));
  printf("big=%lld floor=%g ceil=%g rint=%g\n", big, floor(-2.5), ceil(-2.5), rint(2.5));
  return 0;
}
