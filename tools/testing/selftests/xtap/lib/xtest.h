/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * What every xtap test program shares (lib/xtest.c): the prerequisite check
 * and the harness's main().
 *
 * A program skips as a whole (KSFT_SKIP, exit 4) when it is not run as root
 * or xtap is not loaded, as the shell tests do (lib.sh's require_xtap).  In
 * our own suite the VM runner loads xtap itself and exports XTAP_REQUIRED=1:
 * xtap missing is then a failure, never a skip.  xtap loaded without its
 * /dev/vhost-xtap is broken, and a failure in any run.
 *
 * Timeouts: each harness test has the harness's limit (30 s, or the one
 * given with TEST_F_TIMEOUT(); the 6.1 harness has no TEST_TIMEOUT()),
 * multiplied by XTAP_TIMEOUT_MULT from the environment (the VM runner sets
 * 4 under TCG).
 *
 * Omitted variants: XTEST_OMIT, a comma-separated list of fnmatch(3)
 * patterns matched against "fixture.variant", takes the matching variants
 * out of the program before it plans its tests, so they are neither run
 * nor counted (the debug kernel's part of CI omits the variants that run
 * upstream vhost-net instead of xtap).
 */
#ifndef _XTEST_H
#define _XTEST_H

void xtest_require_xtap(void);
unsigned int xtest_timeout_mult(void);

#ifdef __KSELFTEST_HARNESS_H
#include <fnmatch.h>

/* Whether "fixture.variant" matches a pattern of $XTEST_OMIT. */
static inline int xtest_omitted(const char *fixture, const char *variant)
{
	const char *list = getenv("XTEST_OMIT");
	char name[256], pat[256];
	const char *p, *end;
	size_t len;

	if (!list || !*list)
		return 0;
	snprintf(name, sizeof(name), "%s.%s", fixture, variant);
	for (p = list; *p; p = *end ? end + 1 : end) {
		end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		len = end - p;
		if (!len || len >= sizeof(pat))
			continue;
		memcpy(pat, p, len);
		pat[len] = '\0';
		if (!fnmatch(pat, name, 0))
			return 1;
	}
	return 0;
}

/*
 * Unlink the variants $XTEST_OMIT names from every fixture; a fixture left
 * without variants loses its tests too (the harness would run them once
 * with no variant data).
 */
static inline void xtest_omit_variants(void)
{
	struct __fixture_variant_metadata *v, *next;
	struct __fixture_metadata *f;

	for (f = __fixture_list; f; f = f->next) {
		if (!f->variant)
			continue;
		for (v = f->variant; v; v = next) {
			next = v->next;
			if (!xtest_omitted(f->name, v->name))
				continue;
			/* Only prev is circular: the head's prev is the tail. */
			if (v == f->variant) {
				f->variant = next;
				if (next)
					next->prev = v->prev;
			} else {
				v->prev->next = next;
				if (next)
					next->prev = v->prev;
				else
					f->variant->prev = v->prev;
			}
		}
		if (!f->variant)
			f->tests = NULL;
	}
}

/* Scale every registered test's timeout by xtest_timeout_mult(). */
static inline void xtest_scale_timeouts(void)
{
	unsigned int mult = xtest_timeout_mult();
	struct __fixture_metadata *f;
	struct __test_metadata *t;

	for (f = __fixture_list; f; f = f->next)
		for (t = f->tests; t; t = t->next)
			t->timeout *= mult;
}

/*
 * TEST_HARNESS_MAIN with the prerequisite check, scaled timeouts and
 * omitted variants.
 */
#define XTEST_HARNESS_MAIN						\
	int main(int argc, char **argv)					\
	{								\
		xtest_require_xtap();					\
		xtest_scale_timeouts();					\
		xtest_omit_variants();					\
		return test_harness_run(argc, argv);			\
	}
#endif

#endif /* _XTEST_H */
