// SPDX-License-Identifier: GPL-2.0
/*
 * Copyright (C) 2026 The xtap authors.
 *
 * xtest: the prerequisite check every xtap test program runs first (see
 * xtest.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <linux/xtap.h>

#include "kselftest.h"
#include "xtest.h"

#define XTEST_VHOST_NODE	"/dev/" XTAP_VHOST_NAME
#define XTEST_MAX_MULT		100U

/* Report a broken or missing xtap as the program's one failed test. */
static void xtest_fail(const char *why)
{
	ksft_print_header();
	ksft_set_plan(1);
	ksft_test_result_fail("xtap usable: %s\n", why);
	ksft_exit_fail();
}

/**
 * xtest_require_xtap() - skip or fail unless xtap can be tested here
 *
 * Returns when the caller is root, xtap is loaded and /dev/vhost-xtap is a
 * character device.  Otherwise exits: KSFT_SKIP when not root, or when xtap
 * is not loaded and XTAP_REQUIRED is not "1"; KSFT_FAIL (one failed test in
 * the TAP output) when xtap is loaded but its node is missing, or when
 * XTAP_REQUIRED=1 and xtap is not loaded.
 */
void xtest_require_xtap(void)
{
	const char *req = getenv("XTAP_REQUIRED");
	bool required = req && !strcmp(req, "1");
	struct stat st;

	if (geteuid()) {
		ksft_print_header();
		ksft_exit_skip("must run as root\n");
	}
	if (access("/sys/module/xtap", F_OK)) {
		if (required)
			xtest_fail("xtap is not loaded (XTAP_REQUIRED=1)");
		ksft_print_header();
		ksft_exit_skip("xtap not loaded (insmod drivers/net/xtap/xtap.ko)\n");
	}
	if (stat(XTEST_VHOST_NODE, &st) || !S_ISCHR(st.st_mode))
		xtest_fail("xtap is loaded but " XTEST_VHOST_NODE
			   " is no character device");
}

/**
 * xtest_timeout_mult() - the timeout multiplier of this run
 *
 * Return: XTAP_TIMEOUT_MULT from the environment (1 to 100), else 1.
 */
unsigned int xtest_timeout_mult(void)
{
	const char *s = getenv("XTAP_TIMEOUT_MULT");
	unsigned long m;
	char *end;

	if (!s || !*s)
		return 1;
	errno = 0;
	m = strtoul(s, &end, 10);
	if (errno || *end || !m || m > XTEST_MAX_MULT)
		return 1;
	return m;
}
