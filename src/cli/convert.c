#include "cli/cmd.h"
#include <stddef.h>
static int run(int argc, char **argv) { (void)argc; (void)argv; return 0; }
const struct cmd_entry cmd_convert = { "convert", "", "", run };
