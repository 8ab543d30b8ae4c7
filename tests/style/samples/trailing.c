/* trailing white space */
int f(void)
{
	return 0; 
}
