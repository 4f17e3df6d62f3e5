/*
 * The message body after "354" (DATA) or a BDAT command.
 *
 * DATA (RFC 5321 section 4.5.2): lines are dot-stuffed and the message
 * ends with a line holding a single "." -- and only when that line is
 * framed by CRLF on both sides.  SMTP smuggling (CVE-2023-51766,
 * CVE-2023-51764, CVE-2023-51765) works because receivers disagree
 * about "\n.\n", "\r.\r", "\r\n.\n" and friends; here none of them ends
 * the message, each is flagged SMTP_DATA_F_SMUGGLING, and the bytes are
 * passed through unchanged so that the engine can refuse the message
 * after the real end.
 *
 * The state machine looks at one byte at a time and keeps everything it
 * needs in `state`, so the result never depends on how the input was
 * chunked.  Output is emitted as runs of the input: the only bytes ever
 * dropped are a dot at the start of a line and the terminator, and the
 * only byte ever held back is the CR of ".\r" (it may be the end).
 *
 * BDAT (RFC 3030) has no stuffing and no terminator: a chunk is exactly
 * its announced size.  Line checks still run across chunk boundaries
 * unless the body is BINARYMIME.
 */

#include "smtp-syntax-private.h"

#include "lib/pool.h"

#include <string.h>

enum data_state {
	/* at the start of a line, after CRLF (or at the start of DATA) */
	DATA_LINE_START,
	/* after a bare LF or bare CR: a line start for some other MTA */
	DATA_LOOSE_START,
	/* inside a line */
	DATA_MID,
	/* after a CR, waiting for its LF */
	DATA_CR,
	/* "." at a real line start (held: deleted or the terminator) */
	DATA_DOT,
	/* ".\r" at a real line start (the CR is held) */
	DATA_DOT_CR,
	/* "." right after a bare LF or CR (emitted; watched for smuggling) */
	DATA_LOOSE_DOT,
	DATA_DONE,
};

struct smtp_data_decoder {
	struct smtp_data_settings set;
	smtp_data_sink_fn *sink;
	void *sink_ctx;
	enum data_state state;
	unsigned flags;
	uint64_t size;      /* decoded bytes (also past max_size) */
	uint64_t raw_size;  /* consumed bytes */
	uint64_t line_len;  /* bytes of the current line, LF included */
	/* BDAT */
	uint64_t chunk_left;
	bool chunk_open, chunk_last, finished;
};

struct smtp_data_decoder *smtp_data_decoder_create(struct pool *pool,
						   const struct smtp_data_settings *set,
						   smtp_data_sink_fn *sink, void *ctx)
{
	struct smtp_data_decoder *dec = POOL_NEW(pool, struct smtp_data_decoder);

	if (set != NULL)
		dec->set = *set;
	dec->sink = sink;
	dec->sink_ctx = ctx;
	dec->state = DATA_LINE_START;
	return dec;
}

/* Passes decoded bytes to the sink, up to max_size. */
static void data_emit(struct smtp_data_decoder *dec, const unsigned char *p, size_t len)
{
	uint64_t room = len;

	if (len == 0)
		return;
	if (dec->set.max_size != 0) {
		room = dec->size >= dec->set.max_size ? 0 : dec->set.max_size - dec->size;
		if (room < len)
			dec->flags |= SMTP_DATA_F_TOO_BIG;
	}
	dec->size += len;
	if (room > len)
		room = len;
	if (room == 0 || (dec->flags & SMTP_DATA_F_SINK_FAILED) != 0 || dec->sink == NULL)
		return;
	if (dec->sink(dec->sink_ctx, p, (size_t)room) < 0)
		dec->flags |= SMTP_DATA_F_SINK_FAILED;
}

/* Line length and content checks for one decoded byte. */
static inline void data_count(struct smtp_data_decoder *dec, unsigned char c)
{
	dec->line_len++;
	if (dec->set.max_line != 0 && dec->line_len > dec->set.max_line)
		dec->flags |= SMTP_DATA_F_LONG_LINE;
	if (c == '\n')
		dec->line_len = 0;
	else if (c == '\0')
		dec->flags |= SMTP_DATA_F_NUL;
	else if (c >= 0x80)
		dec->flags |= SMTP_DATA_F_8BIT;
}

/* The state after byte c that is content (not a deleted dot): shared by
 * DATA and checked BDAT.  Flags bare CR and LF. */
static enum data_state data_next(struct smtp_data_decoder *dec, enum data_state st,
				 unsigned char c)
{
	if (st == DATA_CR) {
		if (c == '\n')
			return DATA_LINE_START;
		dec->flags |= SMTP_DATA_F_BARE_CR;
		st = DATA_LOOSE_START;
	}
	if (c == '\r')
		return DATA_CR;
	if (c == '\n') {
		dec->flags |= SMTP_DATA_F_BARE_LF;
		return DATA_LOOSE_START;
	}
	if (c == '.' && st == DATA_LOOSE_START)
		return DATA_LOOSE_DOT;
	return DATA_MID;
}

/* One byte of DATA.  Returns how the byte is used: 1 content (emit),
 * 0 dropped, 2 content preceded by the held CR of ".\r". */
static int data_byte(struct smtp_data_decoder *dec, unsigned char c)
{
	switch (dec->state) {
	case DATA_LINE_START:
		if (c == '.') {
			dec->state = DATA_DOT;
			return 0;
		}
		break;
	case DATA_DOT:
		if (c == '\r') {
			dec->state = DATA_DOT_CR;
			return 0;
		}
		if (c == '\n')
			dec->flags |= SMTP_DATA_F_SMUGGLING; /* "\r\n.\n" */
		/* the stuffed (or lone) dot is deleted: RFC 5321 4.5.2 */
		dec->state = DATA_MID;
		break;
	case DATA_DOT_CR:
		if (c == '\n') {
			dec->state = DATA_DONE;
			return 0;
		}
		/* "\r\n.\r" + not LF: the held CR is a bare CR, content */
		dec->flags |= SMTP_DATA_F_SMUGGLING;
		dec->state = DATA_CR;
		data_count(dec, '\r');
		dec->state = data_next(dec, dec->state, c);
		data_count(dec, c);
		return 2;
	case DATA_LOOSE_DOT:
		if (c == '\r' || c == '\n')
			dec->flags |= SMTP_DATA_F_SMUGGLING; /* "\n.\n" "\r.\r" */
		dec->state = DATA_MID;
		break;
	default:
		break;
	}
	dec->state = data_next(dec, dec->state, c);
	data_count(dec, c);
	return 1;
}

static int data_feed(struct smtp_data_decoder *dec, const unsigned char *p, size_t len,
		     size_t *consumed_r)
{
	static const unsigned char cr = '\r';
	size_t run = 0, i;

	for (i = 0; i < len && dec->state != DATA_DONE; i++) {
		if (dec->state == DATA_MID) {
			/* inside a line: skip ahead over the bytes that change
			   no state (the usual case, and the hot loop) */
			size_t lim = len;
			if (dec->set.max_line != 0) {
				size_t room = dec->line_len < dec->set.max_line ?
						      (size_t)(dec->set.max_line - dec->line_len) : 0;
				if (room < len - i)
					lim = i + room;
			}
			size_t j = i;
			unsigned char high = 0;
			while (j < lim && p[j] != '\r' && p[j] != '\n' && p[j] != '\0') {
				high |= p[j];
				j++;
			}
			dec->line_len += j - i;
			if ((high & 0x80) != 0)
				dec->flags |= SMTP_DATA_F_8BIT;
			i = j;
			if (i >= len)
				break;
		}
		int use = data_byte(dec, p[i]);
		if (use == 1)
			continue;
		data_emit(dec, p + run, i - run);
		if (use == 2)
			data_emit(dec, &cr, 1);
		run = use == 2 ? i : i + 1;
	}
	data_emit(dec, p + run, i - run);
	*consumed_r = i;
	dec->raw_size += i;
	if (dec->state != DATA_DONE)
		return 0;
	dec->finished = true;
	return 1;
}

static int bdat_feed(struct smtp_data_decoder *dec, const unsigned char *p, size_t len,
		     size_t *consumed_r)
{
	size_t n = dec->chunk_left < len ? (size_t)dec->chunk_left : len;

	if (dec->set.mode == SMTP_DATA_MODE_BDAT) {
		for (size_t i = 0; i < n; i++) {
			dec->state = data_next(dec, dec->state, p[i]);
			data_count(dec, p[i]);
		}
	}
	data_emit(dec, p, n);
	dec->chunk_left -= n;
	dec->raw_size += n;
	*consumed_r = n;
	if (dec->chunk_left > 0)
		return 0;
	dec->chunk_open = false;
	if (dec->chunk_last) {
		dec->finished = true;
		if (dec->set.mode == SMTP_DATA_MODE_BDAT && dec->state == DATA_CR)
			dec->flags |= SMTP_DATA_F_BARE_CR; /* the message ends in CR */
	}
	return 1;
}

int smtp_data_decoder_chunk(struct smtp_data_decoder *dec, uint64_t size, bool last)
{
	if (dec->set.mode == SMTP_DATA_MODE_DATA || dec->finished || dec->chunk_open)
		return -1;
	dec->chunk_left = size;
	dec->chunk_last = last;
	dec->chunk_open = true;
	return 0;
}

int smtp_data_decoder_feed(struct smtp_data_decoder *dec, const void *data, size_t len,
			   size_t *consumed_r)
{
	*consumed_r = 0;
	if (dec->set.mode == SMTP_DATA_MODE_DATA) {
		if (dec->finished)
			return -1;
		return data_feed(dec, data, len, consumed_r);
	}
	if (!dec->chunk_open)
		return -1;
	return bdat_feed(dec, data, len, consumed_r);
}

bool smtp_data_decoder_finished(const struct smtp_data_decoder *dec)
{
	return dec->finished;
}

unsigned smtp_data_decoder_flags(const struct smtp_data_decoder *dec)
{
	return dec->flags;
}

uint64_t smtp_data_decoder_size(const struct smtp_data_decoder *dec)
{
	return dec->size;
}

uint64_t smtp_data_decoder_raw_size(const struct smtp_data_decoder *dec)
{
	return dec->raw_size;
}

bool smtp_data_decoder_error(const struct smtp_data_decoder *dec, unsigned refuse_mask,
			     struct smtp_error *err_r)
{
	static const struct {
		unsigned flag;
		enum smtp_error_id id;
	} order[] = {
		{ SMTP_DATA_F_SINK_FAILED, SMTP_ERROR_DATA_SINK },
		{ SMTP_DATA_F_TOO_BIG, SMTP_ERROR_DATA_TOO_BIG },
		{ SMTP_DATA_F_SMUGGLING, SMTP_ERROR_DATA_SMUGGLING },
		{ SMTP_DATA_F_BARE_LF, SMTP_ERROR_DATA_BARE_LF },
		{ SMTP_DATA_F_BARE_CR, SMTP_ERROR_DATA_BARE_CR },
		{ SMTP_DATA_F_NUL, SMTP_ERROR_DATA_NUL },
		{ SMTP_DATA_F_LONG_LINE, SMTP_ERROR_DATA_LONG_LINE },
	};
	unsigned seen = dec->flags & refuse_mask;

	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		if ((seen & order[i].flag) != 0) {
			smtp_error_set(err_r, order[i].id);
			return true;
		}
	}
	return false;
}
