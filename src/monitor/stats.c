/*
 * stats.c: Poisson tail, Wilson bounds and median for the rules.
 */
#include "monitor/stats.h"

#include <math.h>
#include <stdlib.h>

#include "util/banned.h"

double
stats_poisson_cdf(uint64_t k, double lambda)
{
	double lsum = -INFINITY, ll, lterm;

	if (!(lambda > 0))
		return 1.0;
	/* Far above the mean the tail is 1 to double precision. */
	if ((double)k > lambda + 40.0 * sqrt(lambda) + 40.0)
		return 1.0;
	ll = log(lambda);
	/* Sum exp(-lambda + i ln lambda - ln i!) in log space. */
	for (uint64_t i = 0; i <= k; i++) {
		lterm = -lambda + (double)i * ll - lgamma((double)i + 1.0);
		if (lsum == -INFINITY)
			lsum = lterm;
		else if (lterm > lsum)
			lsum = lterm + log1p(exp(lsum - lterm));
		else
			lsum = lsum + log1p(exp(lterm - lsum));
	}
	return lsum >= 0 ? 1.0 : exp(lsum);
}

static double
wilson(double s, double n, double z, int sign)
{
	double p, z2, den, centre, half;

	if (!(n > 0))
		return sign < 0 ? 0.0 : 1.0;
	p = s / n;
	z2 = z * z;
	den = 1.0 + z2 / n;
	centre = p + z2 / (2.0 * n);
	half = z * sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n));
	p = (centre + sign * half) / den;
	return p < 0 ? 0 : p > 1 ? 1 : p;
}

double
stats_wilson_lower(double successes, double n, double z)
{
	return wilson(successes, n, z, -1);
}

double
stats_wilson_upper(double successes, double n, double z)
{
	return wilson(successes, n, z, 1);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

double
stats_median(double *v, size_t n)
{
	qsort(v, n, sizeof(*v), cmp_double);
	if (n % 2)
		return v[n / 2];
	return (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

double
stats_normal_upper_quantile(double p)
{
	double t;

	/* Abramowitz and Stegun 26.2.23, |error| < 4.5e-4. */
	if (!(p > 0))
		p = 1e-12;
	if (p >= 0.5)
		return 0;
	t = sqrt(-2.0 * log(p));
	return t - (2.515517 + 0.802853 * t + 0.010328 * t * t) /
	    (1.0 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t);
}
