// SPDX-License-Identifier: GPL-2.0
/* Runner self-test: a test program that passes a test, then crashes with SIGSEGV. */
#include <stdio.h>

int main(void)
{
	volatile int *null = NULL;

	printf("TAP version 13\n1..2\nok 1 - before the crash\n");
	fflush(stdout);
	return *null;
}
