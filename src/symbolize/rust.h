/*
 * rust: Rust symbol names. Internal to symbolize/.
 *
 * Legacy names are Itanium-mangled (_ZN…17h<16 hex>E); libiberty's C++ demangler turns them
 * into "a::b::h0123…", which rust_legacy_cleanup() finishes (drops the hash, decodes $LT$,
 * $u7b$… escapes). v0 names (_R…, RFC 2603) are demangled here: paths, closures and shims,
 * impls, generic arguments, types, constants and back-references. Anything else (punycode
 * identifiers are printed raw) makes the demangler give up rather than guess.
 */
#ifndef KILN_SYMBOLIZE_RUST_H
#define KILN_SYMBOLIZE_RUST_H

#include <stdbool.h>
#include <stddef.h>

/* True if mangled is a legacy Rust name (ends with the 17h<16 hex>E hash). */
bool rust_is_legacy(const char *mangled);

/* Rewrites a C++-demangled legacy Rust name in place: "core::fmt::write::h0123…" →
 * "core::fmt::write", "_$LT$T$u20$as$u20$Tr$GT$" → "<T as Tr>". */
void rust_legacy_cleanup(char *name);

/* Demangles a v0 name into out (NUL-terminated). False when not v0, malformed, or too long. */
bool rust_demangle_v0(const char *mangled, char *out, size_t outsz);

#endif
