/* layer_check.c - the program each layer's link check builds around the layer's objects
 * (see src/CMakeLists.txt): it runs nothing; that it links at all is the check. */
int main(void)
{
	return 0;
}
