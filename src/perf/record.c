/*
 * record.c: perf ring-buffer records to structs. This is the one place kiln reads bytes the
 * kernel (or a fuzzer) produced, so every field is read through a bounds-checked cursor.
 */
#include "perf/record.h"

#include <errno.h>
#include <linux/perf_event.h>
#include <string.h>

struct cursor {
	const uint8_t *p;
	size_t len;
	size_t off;
	bool bad;
};

static uint64_t rd64(struct cursor *c)
{
	uint64_t v = 0;
	if (c->bad || c->len - c->off < 8) {
		c->bad = true;
		return 0;
	}
	memcpy(&v, c->p + c->off, 8);
	c->off += 8;
	return v;
}

static uint32_t rd32(struct cursor *c)
{
	uint32_t v = 0;
	if (c->bad || c->len - c->off < 4) {
		c->bad = true;
		return 0;
	}
	memcpy(&v, c->p + c->off, 4);
	c->off += 4;
	return v;
}

static const uint8_t *rdbytes(struct cursor *c, uint64_t n)
{
	if (c->bad || n > c->len - c->off) {
		c->bad = true;
		return NULL;
	}
	const uint8_t *p = c->p + c->off;
	c->off += (size_t)n;
	return p;
}

int perf_record_header(const uint8_t *data, size_t len, uint32_t *type, uint16_t *misc,
		       uint16_t *size)
{
	struct perf_event_header h;
	if (len < sizeof(h))
		return -EINVAL;
	memcpy(&h, data, sizeof(h));
	if (h.size < sizeof(h))
		return -EINVAL;
	*type = h.type;
	*misc = h.misc;
	*size = h.size;
	return 0;
}

/* Size of the sample_id trailer that sample_id_all appends to non-sample records. */
static size_t trailer_size(const struct perf_record_layout *l)
{
	if (!l->sample_id_all)
		return 0;
	size_t n = 0;
	uint64_t t = l->sample_type;
	if (t & PERF_SAMPLE_TID)
		n += 8;
	if (t & PERF_SAMPLE_TIME)
		n += 8;
	if (t & PERF_SAMPLE_ID)
		n += 8;
	if (t & PERF_SAMPLE_STREAM_ID)
		n += 8;
	if (t & PERF_SAMPLE_CPU)
		n += 8;
	if (t & PERF_SAMPLE_IDENTIFIER)
		n += 8;
	return n;
}

static int parse_trailer(const uint8_t *data, size_t size, const struct perf_record_layout *l,
			 struct perf_record_id *id)
{
	size_t tsz = trailer_size(l);
	if (!tsz)
		return 0;
	if (size < sizeof(struct perf_event_header) + tsz)
		return -EINVAL;
	struct cursor c = {data, size, size - tsz, false};
	uint64_t t = l->sample_type;
	if (t & PERF_SAMPLE_TID) {
		id->pid = rd32(&c);
		id->tid = rd32(&c);
		id->has_tid = true;
	}
	if (t & PERF_SAMPLE_TIME) {
		id->time = rd64(&c);
		id->has_time = true;
	}
	if (t & PERF_SAMPLE_ID)
		rd64(&c);
	if (t & PERF_SAMPLE_STREAM_ID)
		rd64(&c);
	if (t & PERF_SAMPLE_CPU) {
		id->cpu = rd32(&c);
		rd32(&c);
	}
	return c.bad ? -EINVAL : 0;
}

static int parse_sample(struct cursor *c, const struct perf_record_layout *l,
			struct perf_record *out)
{
	uint64_t t = l->sample_type;
	struct perf_sample *s = &out->sample;

	/* Layouts kiln never asks for and whose size cannot be skipped without more state. */
	if (t & (PERF_SAMPLE_READ | PERF_SAMPLE_BRANCH_STACK))
		return -EINVAL;
	if (t & PERF_SAMPLE_IDENTIFIER)
		rd64(c);
	if (t & PERF_SAMPLE_IP)
		s->ip = rd64(c);
	if (t & PERF_SAMPLE_TID) {
		out->id.pid = rd32(c);
		out->id.tid = rd32(c);
		out->id.has_tid = true;
	}
	if (t & PERF_SAMPLE_TIME) {
		out->id.time = rd64(c);
		out->id.has_time = true;
	}
	if (t & PERF_SAMPLE_ADDR)
		s->addr = rd64(c);
	if (t & PERF_SAMPLE_ID)
		rd64(c);
	if (t & PERF_SAMPLE_STREAM_ID)
		rd64(c);
	if (t & PERF_SAMPLE_CPU) {
		out->id.cpu = rd32(c);
		rd32(c);
	}
	if (t & PERF_SAMPLE_PERIOD)
		s->period = rd64(c);
	if (t & PERF_SAMPLE_CALLCHAIN) {
		uint64_t nr = rd64(c);
		if (c->bad || nr > (c->len - c->off) / 8)
			return -EINVAL;
		s->callchain = (const uint64_t *)(const void *)rdbytes(c, nr * 8);
		s->callchain_nr = nr;
	}
	if (t & PERF_SAMPLE_RAW) {
		uint32_t n = rd32(c);
		rdbytes(c, n);
	}
	if (t & PERF_SAMPLE_REGS_USER) {
		s->regs_abi = rd64(c);
		if (s->regs_abi) {
			for (unsigned r = 0; r < 64; r++)
				if (l->regs_mask & (1ULL << r))
					s->regs[r] = rd64(c);
		}
	}
	if (t & PERF_SAMPLE_STACK_USER) {
		uint64_t size = rd64(c);
		if (size) {
			const uint8_t *stack = rdbytes(c, size);
			uint64_t dyn = rd64(c);
			if (c->bad || dyn > size)
				return -EINVAL;
			s->stack = stack;
			s->stack_size = dyn;
		}
	}
	return c->bad ? -EINVAL : 0;
}

/* A NUL-terminated string at c's offset that ends before `end`. */
static const char *rdstr(struct cursor *c, size_t end)
{
	if (c->bad || c->off >= end) {
		c->bad = true;
		return NULL;
	}
	const char *s = (const char *)c->p + c->off;
	if (!memchr(s, 0, end - c->off)) {
		c->bad = true;
		return NULL;
	}
	return s;
}

int perf_record_parse(const uint8_t *data, size_t len, const struct perf_record_layout *layout,
		      struct perf_record *out)
{
	uint32_t type;
	uint16_t misc, size;
	int err = perf_record_header(data, len, &type, &misc, &size);
	if (err)
		return err;
	if (size > len)
		return -EINVAL;
	memset(out, 0, offsetof(struct perf_record, sample) + sizeof(out->sample));
	out->type = type;
	out->misc = misc;
	out->size = size;

	struct cursor c = {data, size, sizeof(struct perf_event_header), false};
	if (type == PERF_RECORD_SAMPLE)
		return parse_sample(&c, layout, out);

	switch (type) {
	case PERF_RECORD_MMAP:
	case PERF_RECORD_MMAP2:
	case PERF_RECORD_COMM:
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT:
	case PERF_RECORD_LOST:
	case PERF_RECORD_LOST_SAMPLES:
		break;
	default:
		return 0; /* header only; the caller skips it */
	}
	err = parse_trailer(data, size, layout, &out->id);
	if (err)
		return err;
	size_t end = size - trailer_size(layout);

	switch (type) {
	case PERF_RECORD_MMAP:
	case PERF_RECORD_MMAP2: {
		struct perf_mmap *m = &out->mmap;
		m->pid = rd32(&c);
		m->tid = rd32(&c);
		m->addr = rd64(&c);
		m->len = rd64(&c);
		m->pgoff = rd64(&c);
		if (type == PERF_RECORD_MMAP2) {
			if (misc & PERF_RECORD_MISC_MMAP_BUILD_ID) {
				rdbytes(&c, 24); /* build_id_size, reserved, build_id[20] */
			} else {
				m->maj = rd32(&c);
				m->min = rd32(&c);
				m->ino = rd64(&c);
				rd64(&c); /* ino_generation */
				m->has_inode = true;
			}
			m->prot = rd32(&c);
			m->flags = rd32(&c);
		}
		m->filename = rdstr(&c, end);
		break;
	}
	case PERF_RECORD_COMM:
		out->comm.pid = rd32(&c);
		out->comm.tid = rd32(&c);
		out->comm.exec = misc & PERF_RECORD_MISC_COMM_EXEC;
		out->comm.comm = rdstr(&c, end);
		break;
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT:
		out->task.pid = rd32(&c);
		out->task.ppid = rd32(&c);
		out->task.tid = rd32(&c);
		out->task.ptid = rd32(&c);
		out->task.time = rd64(&c);
		break;
	case PERF_RECORD_LOST:
		out->lost.id = rd64(&c);
		out->lost.lost = rd64(&c);
		break;
	case PERF_RECORD_LOST_SAMPLES:
		out->lost.lost = rd64(&c);
		break;
	}
	if (c.bad || c.off > end)
		return -EINVAL;
	return 0;
}

uint64_t perf_record_time(const uint8_t *data, size_t len, const struct perf_record_layout *l)
{
	uint32_t type;
	uint16_t misc, size;
	if (perf_record_header(data, len, &type, &misc, &size) || size > len)
		return 0;
	if (!(l->sample_type & PERF_SAMPLE_TIME))
		return 0;
	if (type == PERF_RECORD_SAMPLE) {
		size_t off = sizeof(struct perf_event_header);
		if (l->sample_type & PERF_SAMPLE_IDENTIFIER)
			off += 8;
		if (l->sample_type & PERF_SAMPLE_IP)
			off += 8;
		if (l->sample_type & PERF_SAMPLE_TID)
			off += 8;
		uint64_t t = 0;
		if (off + 8 > size)
			return 0;
		memcpy(&t, data + off, 8);
		return t;
	}
	if (type >= PERF_RECORD_MAX && type != 0)
		return 0;
	struct perf_record_id id = {0};
	if (parse_trailer(data, size, l, &id))
		return 0;
	return id.time;
}
