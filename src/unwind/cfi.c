/*
 * cfi.c: compiles libdw's view of .eh_frame/.debug_frame into cfi_rows, lazily, one row per
 * pc range the first time a sample lands there, so the per-sample path never calls libdw.
 *
 * Design: the cache is a sorted array of non-overlapping rows hung on the proc_elf
 * (proc_elf.cfi) and freed with it. Compiling all rows up front would cost seconds on large
 * binaries for pcs no sample ever hits; a miss costs one dwarf_cfi_addrframe() (a few µs)
 * and an insertion. Rows libdw describes with expressions are recognised when they are the
 * standard x86-64 PLT formula, and marked CFI_CFA_EXPR otherwise (the unwinder falls back to
 * the frame pointer there).
 */
#include <dwarf.h>
#include <elfutils/libdw.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/vec.h"
#include "unwind/cfi.h"

#define CFI_MAX_ROWS (4u << 20)
/* Highest DWARF register a CFI program may name (x86-64 uses < 130). libdw sizes its state
 * by the highest register it meets: a hostile file naming register 2^26 costs it a 1 GiB
 * memset, so files that do are not handed to libdw. */
#define CFI_MAX_REG 255
#define CFI_MAX_CIES 4096

const uint8_t cfi_slot_reg[CFI_NSLOTS] = {CFI_RA, CFI_RBP, CFI_RBX, 12, 13, 14, 15};

struct cfi_cache {
	Dwarf_CFI *eh;	   /* .eh_frame, owned by the Elf (freed with dwarf_cfi_end) */
	Dwarf *dbg;	   /* for .debug_frame */
	Dwarf_CFI *dbgcfi; /* owned by dbg */
	bool dbg_tried;
	struct cfi_row *rows;
	size_t n, cap;
	size_t last; /* index of the last hit */
};

struct reader {
	const uint8_t *p, *end;
	bool bad;
};

static uint64_t uleb(struct reader *r)
{
	uint64_t v = 0;
	for (int shift = 0; r->p < r->end; shift += 7) {
		uint8_t b = *r->p++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			return v;
	}
	r->bad = true;
	return 0;
}

static void skip(struct reader *r, uint64_t n)
{
	if (n > (uint64_t)(r->end - r->p))
		r->bad = true;
	else
		r->p += n;
}

/* Size in bytes of a pointer with DW_EH_PE encoding enc, or 0 for (S)LEB128. */
static int enc_size(uint8_t enc, bool *ok)
{
	switch (enc & 0x0f) {
	case 0x00:
		return 8; /* absptr */
	case 0x01:
	case 0x09:
		return 0;
	case 0x02:
	case 0x0a:
		return 2;
	case 0x03:
	case 0x0b:
		return 4;
	case 0x04:
	case 0x0c:
		return 8;
	}
	*ok = false;
	return 8;
}

static void skip_ptr(struct reader *r, uint8_t enc)
{
	bool ok = true;
	int n = enc_size(enc, &ok);
	if (!ok)
		r->bad = true;
	else if (n == 0)
		uleb(r);
	else
		skip(r, (uint64_t)n);
}

static void check_reg(struct reader *r, uint64_t reg)
{
	if (reg > CFI_MAX_REG)
		r->bad = true;
}

/* Walks one CFA instruction stream; false if it names a register beyond CFI_MAX_REG or is
 * not well formed. */
static bool insns_ok(const uint8_t *p, const uint8_t *end, uint8_t fde_enc)
{
	struct reader r = {p, end, false};
	while (!r.bad && r.p < r.end) {
		uint8_t op = *r.p++;
		switch (op >> 6) {
		case 1: /* advance_loc */
		case 3: /* restore */
			continue;
		case 2: /* offset */
			uleb(&r);
			continue;
		}
		switch (op) {
		case 0x00:
		case 0x0a:
		case 0x0b:
		case 0x2d:
			break;
		case 0x01:
			skip_ptr(&r, fde_enc);
			break;
		case 0x02:
			skip(&r, 1);
			break;
		case 0x03:
			skip(&r, 2);
			break;
		case 0x04:
			skip(&r, 4);
			break;
		case 0x05:
		case 0x11:
		case 0x12:
		case 0x14:
		case 0x15:
		case 0x2f:
		case 0x09:
			check_reg(&r, uleb(&r));
			if (op == 0x09)
				check_reg(&r, uleb(&r));
			else
				uleb(&r);
			break;
		case 0x06:
		case 0x07:
		case 0x08:
		case 0x0d:
			check_reg(&r, uleb(&r));
			break;
		case 0x0c:
			check_reg(&r, uleb(&r));
			uleb(&r);
			break;
		case 0x0e:
		case 0x13:
		case 0x2e:
			uleb(&r);
			break;
		case 0x0f:
			skip(&r, uleb(&r));
			break;
		case 0x10:
		case 0x16:
			check_reg(&r, uleb(&r));
			skip(&r, uleb(&r));
			break;
		default:
			r.bad = true;
		}
	}
	return !r.bad;
}

struct cie_info {
	Dwarf_Off off;
	uint8_t enc; /* FDE pointer encoding */
	bool z;	     /* FDEs carry augmentation data */
};

/* Checks every CIE and FDE of a CFI section before libdw interprets any of it. */
static bool section_ok(Elf *elf, const char *want, bool eh)
{
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	Elf_Data *data = NULL;
	/* Without the section (no section headers) libdw would find CFI through
	 * PT_GNU_EH_FRAME, unchecked: such files (sstrip'ed, or damaged) are walked by frame
	 * pointers instead. */
	if (elf_getshdrstrndx(elf, &shstrndx) < 0)
		return false;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *n;
		if (gelf_getshdr(scn, &sh) && sh.sh_type != SHT_NOBITS &&
		    (n = elf_strptr(elf, shstrndx, sh.sh_name)) && !strcmp(n, want)) {
			data = elf_rawdata(scn, NULL);
			break;
		}
	}
	if (!data)
		return false;
	const unsigned char *ident = (const unsigned char *)elf_getident(elf, NULL);
	if (!ident)
		return false;
	VEC(struct cie_info) cies = VEC_INIT;
	bool ok = true;
	Dwarf_Off off = 0, next;
	Dwarf_CFI_Entry e;
	int rc;
	while (ok && (rc = dwarf_next_cfi(ident, data, eh, off, &next, &e)) != 1) {
		if (rc < 0) {
			ok = false;
			break;
		}
		if (dwarf_cfi_cie_p(&e)) {
			struct cie_info ci = {.off = off, .enc = eh ? 0 : 0x00};
			const char *aug = e.cie.augmentation ? e.cie.augmentation : "";
			ci.z = aug[0] == 'z';
			if (ci.z && e.cie.augmentation_data) {
				struct reader r = {
				    e.cie.augmentation_data,
				    e.cie.augmentation_data + e.cie.augmentation_data_size, false};
				for (const char *a = aug + 1; *a && !r.bad; a++) {
					if (*a == 'R' && r.p < r.end)
						ci.enc = *r.p++;
					else if (*a == 'L' && r.p < r.end)
						r.p++;
					else if (*a == 'P' && r.p < r.end)
						skip_ptr(&r, *r.p++);
					else if (*a != 'S' && *a != 'B')
						break;
				}
				ok = !r.bad;
			}
			ok = ok && e.cie.return_address_register <= CFI_MAX_REG &&
			     insns_ok(e.cie.initial_instructions, e.cie.initial_instructions_end,
				      ci.enc) &&
			     cies.len < CFI_MAX_CIES && vec_push(&cies, ci) == 0;
		} else {
			const struct cie_info *ci = NULL;
			for (size_t i = cies.len; i-- > 0;) {
				if (cies.items[i].off == e.fde.CIE_pointer) {
					ci = &cies.items[i];
					break;
				}
			}
			if (!ci) {
				ok = false;
				break;
			}
			struct reader r = {e.fde.start, e.fde.end, false};
			skip_ptr(&r, ci->enc);	      /* initial_location */
			skip_ptr(&r, ci->enc & 0x0f); /* address_range */
			if (ci->z)
				skip(&r, uleb(&r));
			ok = !r.bad && insns_ok(r.p, e.fde.end, ci->enc);
		}
		off = next;
	}
	vec_release(&cies);
	return ok;
}

static void cache_free(void *p)
{
	struct cfi_cache *c = p;
	if (!c)
		return;
	if (c->eh)
		dwarf_cfi_end(c->eh);
	if (c->dbg)
		dwarf_end(c->dbg);
	free(c->rows);
	free(c);
}

static struct cfi_cache *cache_get(struct proc_elf *e)
{
	if (e->cfi)
		return e->cfi;
	struct cfi_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	if (section_ok(e->elf, ".eh_frame", true))
		c->eh = dwarf_getcfi_elf(e->elf);
	else
		LOG_DEBUG("unwind: '%s': no usable .eh_frame, unwinding it by frame pointers",
			  e->path);
	e->cfi = c;
	e->cfi_free = cache_free;
	return c;
}

static bool is_breg(const Dwarf_Op *op, unsigned *reg, int64_t *off)
{
	if (op->atom >= DW_OP_breg0 && op->atom <= DW_OP_breg31) {
		*reg = op->atom - DW_OP_breg0;
		*off = (int64_t)op->number;
		return true;
	}
	if (op->atom == DW_OP_bregx) {
		*reg = (unsigned)op->number;
		*off = (int64_t)op->number2;
		return true;
	}
	return false;
}

/* DW_OP_breg7 K; DW_OP_breg16 0; DW_OP_lit15; DW_OP_and; DW_OP_litN; DW_OP_ge; DW_OP_lit3;
 * DW_OP_shl; DW_OP_plus: the CFA of an x86-64 PLT entry. */
static bool is_plt(const Dwarf_Op *ops, size_t n, int64_t *off, uint8_t *cut)
{
	unsigned reg;
	int64_t o, o2;
	if (n != 9 || !is_breg(&ops[0], &reg, &o) || reg != CFI_RSP)
		return false;
	if (!is_breg(&ops[1], &reg, &o2) || reg != CFI_RA || o2 != 0)
		return false;
	if (ops[2].atom != DW_OP_lit15 || ops[3].atom != DW_OP_and)
		return false;
	if (ops[4].atom < DW_OP_lit0 || ops[4].atom > DW_OP_lit15 || ops[5].atom != DW_OP_ge)
		return false;
	if (ops[6].atom != DW_OP_lit3 || ops[7].atom != DW_OP_shl || ops[8].atom != DW_OP_plus)
		return false;
	*off = o;
	*cut = (uint8_t)(ops[4].atom - DW_OP_lit0);
	return true;
}

static bool fits32(int64_t v)
{
	return v >= INT32_MIN && v <= INT32_MAX;
}

static void compile_reg(Dwarf_Frame *frame, struct cfi_row *row, int slot)
{
	Dwarf_Op mem[3], *ops = NULL;
	size_t n = 0;
	row->rule[slot] = CFI_UNSUPPORTED;
	row->off[slot] = 0;
	if (dwarf_frame_register(frame, cfi_slot_reg[slot], mem, &ops, &n) != 0)
		return;
	if (n == 0) {
		row->rule[slot] = ops ? CFI_UNDEF : CFI_SAME;
		return;
	}
	if (ops[0].atom == DW_OP_call_frame_cfa) {
		int64_t off = 0;
		size_t i = 1;
		if (i < n && ops[i].atom == DW_OP_plus_uconst)
			off = (int64_t)ops[i++].number;
		else if (i + 1 < n && ops[i].atom == DW_OP_consts && ops[i + 1].atom == DW_OP_plus)
			off = (int64_t)ops[i].number, i += 2;
		bool value = i < n && ops[i].atom == DW_OP_stack_value;
		if (value)
			i++;
		if (i != n || !fits32(off))
			return;
		row->rule[slot] = value ? CFI_VAL_OFFSET : CFI_OFFSET;
		row->off[slot] = (int32_t)off;
		return;
	}
	unsigned reg;
	int64_t off;
	if (ops[0].atom >= DW_OP_reg0 && ops[0].atom <= DW_OP_reg31 && n == 1) {
		reg = ops[0].atom - DW_OP_reg0;
	} else if (ops[0].atom == DW_OP_regx && n == 1) {
		reg = (unsigned)ops[0].number;
	} else if (is_breg(&ops[0], &reg, &off) && off == 0 &&
		   (n == 1 || (n == 2 && ops[1].atom == DW_OP_stack_value))) {
		/* value in reg */
	} else {
		return;
	}
	if (reg >= CFI_NREGS)
		return;
	row->rule[slot] = CFI_REGISTER;
	row->off[slot] = (int32_t)reg;
}

static void compile_frame(Dwarf_Frame *frame, struct cfi_row *row)
{
	Dwarf_Addr start, end;
	bool signal = false;
	memset(row, 0, sizeof(*row));
	dwarf_frame_info(frame, &start, &end, &signal);
	row->start = start;
	row->end = end > start ? end : start + 1;
	row->signal = signal;
	Dwarf_Op *ops = NULL;
	size_t n = 0;
	unsigned reg;
	int64_t off;
	row->cfa = CFI_CFA_EXPR;
	if (dwarf_frame_cfa(frame, &ops, &n) == 0 && n > 0) {
		if (n == 1 && is_breg(&ops[0], &reg, &off) && reg < CFI_NREGS && fits32(off)) {
			row->cfa = CFI_CFA_REG;
			row->cfa_reg = (uint8_t)reg;
			row->cfa_off = (int32_t)off;
		} else if (is_plt(ops, n, &off, &row->plt_cut) && fits32(off)) {
			row->cfa = CFI_CFA_PLT;
			row->cfa_off = (int32_t)off;
		}
	}
	for (int s = 0; s < CFI_NSLOTS; s++)
		compile_reg(frame, row, s);
}

/* Index of the last row with start <= addr, or c->n when none. */
static size_t find_row(const struct cfi_cache *c, uint64_t addr)
{
	size_t lo = 0, hi = c->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->rows[mid].start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo ? lo - 1 : c->n;
}

static bool frame_at(struct cfi_cache *c, struct proc_elf *e, uint64_t addr, struct cfi_row *row)
{
	Dwarf_Frame *frame = NULL;
	if (c->eh && dwarf_cfi_addrframe(c->eh, addr, &frame) == 0) {
		compile_frame(frame, row);
		free(frame);
		return true;
	}
	if (!c->dbg_tried) {
		c->dbg_tried = true;
		if (section_ok(e->elf, ".debug_frame", false))
			c->dbg = dwarf_begin_elf(e->elf, DWARF_C_READ, NULL);
		if (c->dbg)
			c->dbgcfi = dwarf_getcfi(c->dbg);
	}
	if (c->dbgcfi && dwarf_cfi_addrframe(c->dbgcfi, addr, &frame) == 0) {
		compile_frame(frame, row);
		free(frame);
		return true;
	}
	return false;
}

static bool same_rules(const struct cfi_row *a, const struct cfi_row *b)
{
	return a->cfa == b->cfa && a->cfa_reg == b->cfa_reg && a->cfa_off == b->cfa_off &&
	       a->plt_cut == b->plt_cut && a->signal == b->signal &&
	       !memcmp(a->rule, b->rule, sizeof(a->rule)) &&
	       !memcmp(a->off, b->off, sizeof(a->off));
}

/* libdw (0.188) reports the start of the remembered row after DW_CFA_restore_state, so a
 * row's start is only trusted when the row computed there has the same rules; otherwise the
 * row is cached from addr on. */
static void check_start(struct cfi_cache *c, struct proc_elf *e, uint64_t addr, struct cfi_row *row)
{
	struct cfi_row at;
	if (row->start >= addr)
		return;
	if (!frame_at(c, e, row->start, &at) || !same_rules(&at, row))
		row->start = addr;
}

static struct cfi_row none_row;

const struct cfi_row *cfi_lookup(struct proc_elf *e, uint64_t addr)
{
	struct cfi_cache *c = cache_get(e);
	if (!c) {
		none_row.start = addr;
		none_row.end = addr + 1;
		return &none_row;
	}
	if (c->last < c->n && addr >= c->rows[c->last].start && addr < c->rows[c->last].end)
		return &c->rows[c->last];
	size_t i = find_row(c, addr);
	if (i < c->n && addr < c->rows[i].end) {
		c->last = i;
		return &c->rows[i];
	}
	struct cfi_row row;
	bool found = frame_at(c, e, addr, &row);
	if (found)
		check_start(c, e, addr, &row);
	if (!found || row.start > addr || row.end <= addr) {
		memset(&row, 0, sizeof(row));
		row.start = addr;
		row.end = addr + 1;
	}
	/* Keep rows disjoint: clip against the neighbours already cached. */
	size_t at = (i < c->n) ? i + 1 : 0;
	if (at > 0 && c->rows[at - 1].end > row.start)
		row.start = c->rows[at - 1].end;
	if (at < c->n && c->rows[at].start < row.end)
		row.end = c->rows[at].start;
	if (row.start > addr || row.end <= addr) {
		row.start = addr;
		row.end = addr + 1;
	}
	if (c->n >= CFI_MAX_ROWS) {
		none_row = row;
		return &none_row;
	}
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 64;
		struct cfi_row *rows = realloc(c->rows, cap * sizeof(*rows));
		if (!rows) {
			none_row = row;
			return &none_row;
		}
		c->rows = rows;
		c->cap = cap;
	}
	memmove(&c->rows[at + 1], &c->rows[at], (c->n - at) * sizeof(c->rows[0]));
	c->rows[at] = row;
	c->n++;
	c->last = at;
	return &c->rows[at];
}

size_t cfi_cached_rows(const struct proc_elf *e)
{
	const struct cfi_cache *c = e->cfi;
	return c ? c->n : 0;
}
