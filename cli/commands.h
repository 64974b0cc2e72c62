/*
 * commands.h — the subcommands of `dropout`, one file each.
 *
 * Each subcommand is `int cli_<name>(int argc, char **argv)`: argv[0] is the
 * first argument after the subcommand's name.  It returns the process exit
 * status (0 success, 1 bad input or a failed check) and prints its own
 * --help (args.h gives it the options section for free).
 */
#ifndef DROPOUT_CLI_COMMANDS_H
#define DROPOUT_CLI_COMMANDS_H

int cli_mask(int argc, char **argv);     /* mask.c    */
int cli_forward(int argc, char **argv);  /* forward.c */
int cli_backward(int argc, char **argv); /* forward.c */
int cli_verify(int argc, char **argv);   /* verify.c  */
int cli_bench(int argc, char **argv);    /* bench.c   */
int cli_explain(int argc, char **argv);  /* explain.c */

/* The whole `dropout` program (main.c): main() is cli_main(), so that a fuzz
 * target can run it in-process. */
int cli_main(int argc, char **argv);

#endif /* DROPOUT_CLI_COMMANDS_H */
