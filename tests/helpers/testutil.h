/*
 * testutil.h: what every cmocka test file needs, in the order cmocka
 * requires (its header relies on these being included first).
 */
#ifndef PB_TESTUTIL_H
#define PB_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#endif
