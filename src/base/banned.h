/*
 * banned.h: libc functions kiln's code must not call, turned into compile errors.
 *
 * Force-included before every kiln C file by the build (-include). It first pulls in the
 * headers that declare these functions, so their declarations are seen before the macros
 * exist and later #includes of the same headers are no-ops. Use the bounded or re-entrant
 * alternative named in the error instead.
 */
#ifndef KILN_BANNED_H
#define KILN_BANNED_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BANNED(func) sorry_##func##_is_banned_in_kiln

#undef strcpy
#define strcpy(x, y) BANNED(strcpy_use_snprintf_or_memcpy)
#undef strcat
#define strcat(x, y) BANNED(strcat_use_buf_puts)
#undef strncpy
#define strncpy(x, y, n) BANNED(strncpy_use_snprintf_or_memcpy)
#undef strncat
#define strncat(x, y, n) BANNED(strncat_use_buf_append)
#undef sprintf
#define sprintf(...) BANNED(sprintf_use_snprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf_use_vsnprintf)
#undef strtok
#define strtok(x, y) BANNED(strtok_use_strtok_r)
#undef gets
#define gets(x) BANNED(gets_use_fgets)
#undef gmtime
#define gmtime(t) BANNED(gmtime_use_gmtime_r)
#undef localtime
#define localtime(t) BANNED(localtime_use_localtime_r)
#undef ctime
#define ctime(t) BANNED(ctime_use_strftime)
#undef asctime
#define asctime(t) BANNED(asctime_use_strftime)
#undef atoi
#define atoi(x) BANNED(atoi_use_strtol_with_checks)

#endif
