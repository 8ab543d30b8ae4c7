/* return type on its own line */
static int
f(void)
{
	return 0;
}
