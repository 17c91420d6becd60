/*
 * serve_plugin.c: `kiln serve` as a loadable module (libkiln-serve.so), dlopen'ed by the kiln
 * binary for the serve subcommand only.
 *
 * Why a module: the server's libraries (libmicrohttpd, SQLite, libpq and what they pull in:
 * GnuTLS, OpenSSL, Kerberos, LDAP) cost ~25 ms of CPU to map, relocate and initialise. Linked
 * into the kiln binary, every `kiln run` would pay that before exec'ing the profiled program,
 * in the program's own process: a start-up cost the program never asked for.
 */
#include "base/log.h"
#include "server/serve.h"

int kiln_serve_plugin_main(int argc, char **argv);

__attribute__((visibility("default"))) int kiln_serve_plugin_main(int argc, char **argv)
{
	log_set_ident("kiln"); /* this module has its own copy of the logging state */
	return serve_main(argc, argv);
}
