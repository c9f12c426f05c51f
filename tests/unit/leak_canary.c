/* leak_canary.c - loses one allocation on purpose. Built only in sanitizer builds, where
 * ctest expects LeakSanitizer to report it: proof that the leak check the suite relies on
 * is really switched on (a suite that cannot see leaks would pass just the same). */
#include <stdio.h>
#include <stdlib.h>

/* volatile: the compiler may not drop the allocation as dead code. */
static void *volatile kept;

int main(void)
{
	kept = malloc(4096);
	if (!kept)
		return 1;
	kept = NULL;
	puts("lost 4096 bytes on purpose");
	return 0;
}
