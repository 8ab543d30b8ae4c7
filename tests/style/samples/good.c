/* good.c -- passes checksrc.py: KNF as in plugin/. */
#include <stdio.h>

static int add(int a, int b)
{
	return a + b;	/* "strcpy(" in a string or comment is fine */
}

int main(void)
{
	char line[32];

	snprintf(line, sizeof(line), "%d", add(1,
	    2));
	return line[0] == '3' ? 0 : 1;
}
