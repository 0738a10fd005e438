#include "t.h"
int
main(void)
{
	CHECK(1);
	return t_done();
}
