// Wide-character ncurses API (get_wch, add_wch, cchar_t) and locale setup.
#define NCURSES_WIDECHAR 1
#define _XOPEN_SOURCE_EXTENDED 1
#include <locale.h>
#include <ncursesw/ncurses.h>
