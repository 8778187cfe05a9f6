/* amethyst_repair.c: the command-line face of am_repair (amethyst.h; docs/format.md,
 * "Repair"): what a user runs when am_open refuses a damaged database.
 *
 *   amethyst_repair [-strategy NAME] DIR
 *
 * Prints the report (one line per file read, table written and file set aside, then a
 * summary) to stdout and a failure to stderr. Exit status: 0 repaired, 1 the repair
 * failed, 2 bad usage. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include "amethyst.h"

#define USAGE "usage: amethyst_repair [-strategy NAME] DIR\n"

static void help(FILE *to)
{
    fprintf(to,
            USAGE
            "\n"
            "Rebuilds the Amethyst database in DIR from the SSTables and logs it can read,\n"
            "for a database that will not open. Every file of the old tree, damaged or not,\n"
            "is moved into DIR/lost/ (never deleted); remove it once the data reads right.\n"
            "Takes the database's lock: close every process using DIR first.\n"
            "\n"
            "  -strategy NAME  the compaction strategy the repaired database records:\n"
            "                  %s;\n"
            "                  default: the one the old MANIFEST recorded, else leveled\n"
            "  -help           this text\n"
            "\n"
            "Exit status: 0 repaired, 1 the repair failed, 2 bad usage.\n",
            am_strategy_names());
}

static void print_line(void *arg, const char *line)
{
    (void)arg;
    printf("%s\n", line);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "strategy", required_argument, NULL, 's' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    const char *strategy = NULL;
    int c;
    opterr = 0;
    while ((c = getopt_long_only(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's': strategy = optarg; break;
        case 'h': help(stdout); return 0;
        default:
            fprintf(stderr, "amethyst_repair: %s option '%s'\n",
                    optopt ? "missing value for" : "unknown", argv[optind - 1]);
            fputs(USAGE "(amethyst_repair -help for more)\n", stderr);
            return 2;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "amethyst_repair: %s\n",
                optind == argc ? "no database directory given" : "more than one directory given");
        fputs(USAGE "(amethyst_repair -help for more)\n", stderr);
        return 2;
    }
    am_options o;
    am_options_init(&o);
    o.strategy = strategy;          /* NULL: keep the recorded one */
    char msg[1024];
    int rc = am_repair(argv[optind], &o, print_line, NULL, msg, sizeof msg);
    fflush(stdout);
    if (rc != AM_OK) {
        fprintf(stderr, "amethyst_repair: %s\n", msg);
        return 1;
    }
    return 0;
}
