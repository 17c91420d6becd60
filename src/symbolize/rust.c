/*
 * rust.c: Rust symbol demangling, kiln's own, so no LGPL code without a linking exception is
 * linked statically (libiberty's Rust demangler needs its safe-ctype.c, which has none; see
 * docs/symbols.md). Legacy names go through the C++ demangler first; v0 is parsed here with a
 * recursive descent bounded in depth and output size.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "symbolize/rust.h"

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

bool rust_is_legacy(const char *m)
{
	size_t n = strlen(m);
	/* ...17h + 16 hex + E */
	if (n < 3 + 20 || strncmp(m, "_ZN", 3) || m[n - 1] != 'E')
		return false;
	const char *h = m + n - 1 - 16;
	if (h[-1] != 'h' || h[-2] != '7' || h[-3] != '1')
		return false;
	for (int i = 0; i < 16; i++)
		if (!is_hex(h[i]))
			return false;
	return true;
}

void rust_legacy_cleanup(char *name)
{
	static const struct {
		const char *esc, *rep;
	} escapes[] = {
	    {"$SP$", "@"}, {"$BP$", "*"}, {"$RF$", "&"}, {"$LT$", "<"},
	    {"$GT$", ">"}, {"$LP$", "("}, {"$RP$", ")"}, {"$C$", ","},
	};
	size_t n = strlen(name);
	/* The hash: a last "::h" + 16 hex digits. */
	if (n > 19 && !strncmp(name + n - 19, "::h", 3)) {
		bool hex = true;
		for (size_t i = n - 16; i < n; i++)
			hex &= is_hex(name[i]);
		if (hex)
			name[n - 19] = '\0';
	}
	char *r = name, *w = name;
	while (*r) {
		if (r[0] == '.' && r[1] == '.') {
			*w++ = ':';
			*w++ = ':';
			r += 2;
			continue;
		}
		/* rustc prefixes a component that starts with '$' with '_'. */
		if (r[0] == '_' && r[1] == '$' && (r == name || r[-1] == ':')) {
			r++;
			continue;
		}
		if (r[0] == '$') {
			bool done = false;
			for (size_t i = 0; i < sizeof(escapes) / sizeof(escapes[0]) && !done; i++) {
				size_t el = strlen(escapes[i].esc);
				if (!strncmp(r, escapes[i].esc, el)) {
					*w++ = escapes[i].rep[0];
					r += el;
					done = true;
				}
			}
			if (!done && r[1] == 'u') {
				/* $uXX$: a code point in hex (ASCII only is written back). */
				unsigned v = 0;
				const char *p = r + 2;
				while (is_hex(*p) && v < 0x110000)
					v = v * 16 +
					    (unsigned)(*p <= '9' ? *p - '0' : *p - 'a' + 10),
					p++;
				if (*p == '$' && p > r + 2 && v >= 0x20 && v < 0x7f) {
					*w++ = (char)v;
					r = (char *)p + 1;
					done = true;
				}
			}
			if (done)
				continue;
		}
		*w++ = *r++;
	}
	*w = '\0';
}

/* ---- v0 ---- */

#define V0_MAX_DEPTH 64

struct v0 {
	const char *s; /* after "_R" */
	size_t len, pos;
	char *out;
	size_t outsz, olen;
	bool err;
	int depth;
	int quiet; /* > 0: parse without printing (impl paths) */
};

static char peek(const struct v0 *v)
{
	return v->pos < v->len ? v->s[v->pos] : '\0';
}

static bool eat(struct v0 *v, char c)
{
	if (peek(v) == c) {
		v->pos++;
		return true;
	}
	return false;
}

static char next(struct v0 *v)
{
	if (v->pos >= v->len) {
		v->err = true;
		return '\0';
	}
	return v->s[v->pos++];
}

static void put(struct v0 *v, const char *s, size_t n)
{
	if (v->quiet || v->err)
		return;
	if (v->olen + n + 1 > v->outsz) {
		v->err = true;
		return;
	}
	memcpy(v->out + v->olen, s, n);
	v->olen += n;
	v->out[v->olen] = '\0';
}

static void puts_(struct v0 *v, const char *s)
{
	put(v, s, strlen(s));
}

static uint64_t base62(struct v0 *v)
{
	if (eat(v, '_'))
		return 0;
	uint64_t x = 0;
	for (;;) {
		char c = next(v);
		unsigned d;
		if (c == '_')
			break;
		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'z')
			d = 10u + (unsigned)(c - 'a');
		else if (c >= 'A' && c <= 'Z')
			d = 36u + (unsigned)(c - 'A');
		else {
			v->err = true;
			return 0;
		}
		if (x > (UINT64_MAX - d) / 62) {
			v->err = true;
			return 0;
		}
		x = x * 62 + d;
	}
	return x + 1;
}

static uint64_t opt62(struct v0 *v, char tag)
{
	return eat(v, tag) ? base62(v) + 1 : 0;
}

static uint64_t decimal(struct v0 *v)
{
	char c = peek(v);
	if (c < '0' || c > '9') {
		v->err = true;
		return 0;
	}
	if (c == '0') {
		v->pos++;
		return 0;
	}
	uint64_t x = 0;
	while ((c = peek(v)) >= '0' && c <= '9') {
		if (x > 100000000) {
			v->err = true;
			return 0;
		}
		x = x * 10 + (uint64_t)(c - '0');
		v->pos++;
	}
	return x;
}

struct ident {
	const char *p;
	size_t n;
	bool puny;
	uint64_t dis;
};

static struct ident ident(struct v0 *v)
{
	struct ident id = {0};
	id.dis = opt62(v, 's');
	id.puny = eat(v, 'u');
	uint64_t n = decimal(v);
	eat(v, '_');
	if (v->err || n > v->len - v->pos) {
		v->err = true;
		return id;
	}
	id.p = v->s + v->pos;
	id.n = (size_t)n;
	v->pos += (size_t)n;
	return id;
}

static void print_ident(struct v0 *v, const struct ident *id)
{
	if (id->puny)
		puts_(v, "punycode{");
	put(v, id->p, id->n);
	if (id->puny)
		puts_(v, "}");
}

static void path(struct v0 *v, bool in_value);
static void type(struct v0 *v);

static bool enter(struct v0 *v)
{
	if (++v->depth > V0_MAX_DEPTH)
		v->err = true;
	return !v->err;
}

static void backref(struct v0 *v, void (*fn)(struct v0 *, bool), bool in_value)
{
	size_t at = v->pos - 1; /* the 'B' */
	uint64_t target = base62(v);
	if (v->err || target >= at) {
		v->err = true; /* back-references only point backwards */
		return;
	}
	size_t saved = v->pos;
	v->pos = (size_t)target;
	fn(v, in_value);
	v->pos = saved;
}

static void type_b(struct v0 *v, bool unused)
{
	type(v);
}

static void binder(struct v0 *v)
{
	opt62(v, 'G'); /* for<'a…>: lifetimes are not printed */
}

static void lifetime(struct v0 *v)
{
	base62(v);
	puts_(v, "'_");
}

static void konst(struct v0 *v);
static void konst_b(struct v0 *v, bool unused);

static void generic_args(struct v0 *v)
{
	bool first = true;
	while (!v->err && !eat(v, 'E')) {
		if (!first)
			puts_(v, ", ");
		first = false;
		if (eat(v, 'L'))
			lifetime(v);
		else if (eat(v, 'K'))
			konst(v);
		else
			type(v);
	}
}

static void path(struct v0 *v, bool in_value)
{
	if (!enter(v))
		return;
	char c = next(v);
	switch (c) {
	case 'C': {
		struct ident id = ident(v);
		print_ident(v, &id);
		break;
	}
	case 'N': {
		char ns = next(v);
		path(v, in_value);
		struct ident id = ident(v);
		if (ns >= 'A' && ns <= 'Z') {
			char buf[64];
			puts_(v, "::{");
			puts_(v, ns == 'C' ? "closure" : ns == 'S' ? "shim" : (char[]){ns, 0});
			if (id.n) {
				puts_(v, ":");
				print_ident(v, &id);
			}
			snprintf(buf, sizeof(buf), "#%" PRIu64 "}", id.dis);
			puts_(v, buf);
		} else if (ns >= 'a' && ns <= 'z') {
			if (id.n) {
				puts_(v, "::");
				print_ident(v, &id);
			}
		} else {
			v->err = true;
		}
		break;
	}
	case 'M':
	case 'X':
		opt62(v, 's');
		v->quiet++;
		path(v, false); /* the impl's own path is not printed */
		v->quiet--;
		puts_(v, "<");
		type(v);
		if (c == 'X') {
			puts_(v, " as ");
			path(v, false);
		}
		puts_(v, ">");
		break;
	case 'Y':
		puts_(v, "<");
		type(v);
		puts_(v, " as ");
		path(v, false);
		puts_(v, ">");
		break;
	case 'I':
		path(v, in_value);
		puts_(v, in_value ? "::<" : "<");
		generic_args(v);
		puts_(v, ">");
		break;
	case 'B':
		backref(v, path, in_value);
		break;
	default:
		v->err = true;
	}
	v->depth--;
}

static const char *basic_type(char c)
{
	switch (c) {
	case 'a':
		return "i8";
	case 'b':
		return "bool";
	case 'c':
		return "char";
	case 'd':
		return "f64";
	case 'e':
		return "str";
	case 'f':
		return "f32";
	case 'h':
		return "u8";
	case 'i':
		return "isize";
	case 'j':
		return "usize";
	case 'l':
		return "i32";
	case 'm':
		return "u32";
	case 'n':
		return "i128";
	case 'o':
		return "u128";
	case 's':
		return "i16";
	case 't':
		return "u16";
	case 'u':
		return "()";
	case 'v':
		return "...";
	case 'x':
		return "i64";
	case 'y':
		return "u64";
	case 'z':
		return "!";
	case 'p':
		return "_";
	}
	return NULL;
}

static void dyn_bounds(struct v0 *v)
{
	binder(v);
	bool first = true;
	while (!v->err && !eat(v, 'E')) {
		if (!first)
			puts_(v, " + ");
		first = false;
		path(v, false);
		bool open = false;
		while (!v->err && eat(v, 'p')) {
			if (!open && !v->quiet && v->olen && v->out[v->olen - 1] == '>') {
				/* Trait<A> with bindings reads Trait<A, Name = T>. */
				v->out[--v->olen] = '\0';
				puts_(v, ", ");
			} else {
				puts_(v, open ? ", " : "<");
			}
			open = true;
			struct ident id = ident(v);
			print_ident(v, &id);
			puts_(v, " = ");
			type(v);
		}
		if (open)
			puts_(v, ">");
	}
}

static void type(struct v0 *v)
{
	if (!enter(v))
		return;
	char c = peek(v);
	const char *b = basic_type(c);
	if (b) {
		v->pos++;
		puts_(v, b);
		v->depth--;
		return;
	}
	switch (c) {
	case 'A':
	case 'S':
		v->pos++;
		puts_(v, "[");
		type(v);
		if (c == 'A') {
			puts_(v, "; ");
			konst(v);
		}
		puts_(v, "]");
		break;
	case 'T': {
		v->pos++;
		puts_(v, "(");
		size_t n = 0;
		while (!v->err && !eat(v, 'E')) {
			if (n++)
				puts_(v, ", ");
			type(v);
		}
		puts_(v, n == 1 ? ",)" : ")");
		break;
	}
	case 'R':
	case 'Q':
		v->pos++;
		puts_(v, c == 'R' ? "&" : "&mut ");
		if (eat(v, 'L')) {
			uint64_t l = base62(v);
			if (l) {
				lifetime(v);
				puts_(v, " ");
			}
		}
		type(v);
		break;
	case 'P':
	case 'O':
		v->pos++;
		puts_(v, c == 'P' ? "*const " : "*mut ");
		type(v);
		break;
	case 'F': {
		v->pos++;
		binder(v);
		if (eat(v, 'U'))
			puts_(v, "unsafe ");
		if (eat(v, 'K')) {
			puts_(v, "extern \"");
			if (eat(v, 'C')) {
				puts_(v, "C");
			} else {
				struct ident id = ident(v);
				print_ident(v, &id);
			}
			puts_(v, "\" ");
		}
		puts_(v, "fn(");
		size_t n = 0;
		while (!v->err && !eat(v, 'E')) {
			if (n++)
				puts_(v, ", ");
			type(v);
		}
		puts_(v, ")");
		if (peek(v) == 'u') {
			v->pos++;
		} else {
			puts_(v, " -> ");
			type(v);
		}
		break;
	}
	case 'D':
		v->pos++;
		puts_(v, "dyn ");
		dyn_bounds(v);
		if (!eat(v, 'L'))
			v->err = true;
		else
			base62(v);
		break;
	case 'B':
		v->pos++;
		backref(v, type_b, false);
		break;
	default:
		path(v, false);
	}
	v->depth--;
}

static void konst(struct v0 *v)
{
	if (!enter(v))
		return;
	if (eat(v, 'p')) {
		puts_(v, "_");
	} else if (eat(v, 'B')) {
		backref(v, konst_b, false);
	} else {
		char t = next(v);
		if (!basic_type(t)) {
			v->err = true;
		} else {
			bool neg = eat(v, 'n');
			uint64_t x = 0;
			int digits = 0;
			char c;
			while (!v->err && (c = next(v)) != '_') {
				if (!is_hex(c) || ++digits > 16) {
					v->err = true;
					break;
				}
				x = x * 16 + (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
			}
			char buf[48];
			if (t == 'b')
				snprintf(buf, sizeof(buf), "%s", x ? "true" : "false");
			else if (t == 'c' && x >= 0x20 && x < 0x7f)
				snprintf(buf, sizeof(buf), "'%c'", (char)x);
			else
				snprintf(buf, sizeof(buf), "%s%" PRIu64, neg ? "-" : "", x);
			puts_(v, buf);
		}
	}
	v->depth--;
}

/* konst as a back-reference target takes the (unused) bool of path's signature. */
static void konst_b(struct v0 *v, bool unused)
{
	konst(v);
}

bool rust_demangle_v0(const char *mangled, char *out, size_t outsz)
{
	if (!mangled || strncmp(mangled, "_R", 2) || !out || outsz < 2)
		return false;
	struct v0 v = {.s = mangled + 2, .len = strlen(mangled + 2), .out = out, .outsz = outsz};
	out[0] = '\0';
	if (peek(&v) >= '0' && peek(&v) <= '9')
		return false; /* an encoding version kiln does not know */
	path(&v, true);
	/* An instantiating crate may follow; it is not printed. A vendor suffix ('.', '$')
	 * ends the name. */
	if (!v.err && v.pos < v.len && peek(&v) != '.' && peek(&v) != '$') {
		v.quiet++;
		path(&v, false);
		v.quiet--;
	}
	if (v.err || (v.pos < v.len && peek(&v) != '.' && peek(&v) != '$') || v.olen == 0) {
		out[0] = '\0';
		return false;
	}
	return true;
}
