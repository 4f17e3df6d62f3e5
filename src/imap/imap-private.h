#ifndef OMBU_IMAP_PRIVATE_H
#define OMBU_IMAP_PRIVATE_H

/*
 * The IMAP server's insides.
 *
 * Threads: a session lives on its worker's event loop.  A command's
 * `run` executes either on the loop (CMD_LOOP: nothing blocks) or on the
 * thread pool, where it may call the store and the directory.  While a
 * job runs the session is `busy`: the loop then reads no input and does
 * not touch the selected view, so a job may use and change the session's
 * state without locks.  A job writes its responses into cmd->out; the
 * loop copies them to the connection when the job is done.
 *
 * Memory: an idle session is a struct imap_client (and, when a folder is
 * selected, its view).  A command's pool, parser and output exist only
 * while the command does.
 */

#include "imap.h"
#include "lib/buf.h"
#include "proto/imap-proto.h"

#include <stdbool.h>
#include <stdint.h>

struct conn;
struct directory;
struct pool;
struct store;
struct mailbox;
struct store_watch;
struct store_watcher;
struct threadpool;
struct auth_throttle;
struct anvil;
struct timer;
struct tls_ctx;

struct imap_settings {
	size_t max_line;            /* command line, literals excluded */
	uint64_t max_literal;       /* literal of a command other than APPEND */
	uint64_t append_limit;      /* APPENDLIMIT */
	uint64_t max_command;       /* all literals of one command (MULTIAPPEND) */
	unsigned int max_depth;     /* parentheses, and SEARCH nesting */
	unsigned int max_errors;    /* BAD replies before BYE */
	unsigned int max_user_conns, max_ip_conns;
	uint64_t login_timeout_ms, timeout_ms;
	bool plaintext_ok;
};

struct imap_server {
	const char *name;           /* "imap" or "imaps" */
	struct worker *w;
	struct ioloop *loop;
	struct threadpool *tp;
	struct directory *dir;
	struct store *st;
	struct auth_throttle *throttle;
	struct anvil *anvil;
	struct tls_ctx *tls;
	struct store_watcher *watcher;
	struct imap_settings set;
	struct imap_client *clients;
	size_t n_clients;
	bool stopping;
	char hostname[256];
};

/* --- sequence numbers and UID sets --- */

struct uid_range {
	uint32_t lo, hi;
};

/* A sorted set of UIDs kept as ranges; doubles as the seq -> UID map of a
 * selected folder (the n-th UID is sequence number n).  `start[i]` is
 * the sequence number of r[i].lo. */
struct seqmap {
	struct uid_range *r;
	uint32_t *start;
	uint32_t nr, cap;
	uint32_t count;
};

void seqmap_init(struct seqmap *m);
void seqmap_free(struct seqmap *m);
void seqmap_clear(struct seqmap *m);
/* Adds a UID above every UID in the set. */
void seqmap_append(struct seqmap *m, uint32_t uid);
/* Adds any UID (sets such as \Recent and SEARCHRES). */
void seqmap_add(struct seqmap *m, uint32_t uid);
void seqmap_add_range(struct seqmap *m, uint32_t lo, uint32_t hi);
/* UID of sequence number seq (1-based); 0 when out of range. */
uint32_t seqmap_uid(const struct seqmap *m, uint32_t seq);
/* Sequence number of uid; 0 when absent. */
uint32_t seqmap_seq(const struct seqmap *m, uint32_t uid);
/* The first sequence number whose UID is >= uid; count + 1 when none. */
uint32_t seqmap_seq_ge(const struct seqmap *m, uint32_t uid);
/* Removes uid; returns its sequence number (0 when absent). */
uint32_t seqmap_remove(struct seqmap *m, uint32_t uid);
bool seqmap_has(const struct seqmap *m, uint32_t uid);
uint32_t seqmap_last(const struct seqmap *m);
/* Writes the set as "1:3,5". */
void seqmap_write(const struct seqmap *m, struct buf *out);
/* How many UIDs of a are also in b. */
uint32_t seqmap_intersect_count(const struct seqmap *a, const struct seqmap *b);

/* --- the selected folder --- */

struct imap_view {
	int64_t folder_id;
	char *name;                 /* UTF-8, as the store names it */
	uint32_t uidvalidity;
	uint32_t uidnext;           /* UIDs below are in the map or expunged */
	uint64_t modseq;            /* changes up to here have been reported */
	bool readonly;
	struct seqmap map;          /* sequence numbers */
	struct seqmap recent;       /* \Recent for this session */
	struct seqmap searchres;    /* SEARCHRES "$" */
	uint32_t *pending_expunges; /* expunged, not reported yet (during FETCH...) */
	uint32_t n_pending, cap_pending;
	char *keywords;             /* as announced in FLAGS */
	uint32_t exists_sent, recent_sent;
	/* MODSEQs of this session's own STOREs since the last sync: their
	 * FETCH responses went out already */
	uint64_t own_modseq[8];
	unsigned int n_own;
};

/* --- sessions --- */

enum client_state {
	STATE_NOTAUTH,
	STATE_AUTH,
	STATE_SELECTED,
	STATE_LOGOUT,
};

enum input_mode {
	INPUT_COMMAND,
	INPUT_AUTH_LINE,   /* an AUTHENTICATE response line */
	INPUT_IDLE,        /* waiting for DONE */
};

struct imap_client {
	struct imap_client *prev, *next;
	struct imap_server *srv;
	struct conn *conn;
	unsigned int refs;
	enum client_state state;
	enum input_mode mode;
	bool closed;               /* the connection is gone */
	bool busy;                 /* a job is on the thread pool */
	bool tls, compressed, counted_ip, counted_user;
	bool utf8, imap4rev2, condstore, qresync;
	bool idle_sync_pending, wait_drain;
	unsigned int errors;
	struct imap_cmd *cmd;      /* being parsed or run */
	char *user;                /* the login address */
	char *owner;               /* its mailbox under the store */
	char *notify_path;         /* what IDLE watches */
	uint64_t quota;            /* bytes; 0 = none */
	struct imap_view *view;
	struct store_watch *watch; /* while IDLE in a selected folder */
	struct timer *delay;       /* auth throttle delay */
	char ip[48];               /* for jobs: they never touch conn */
	char id[24];
};

/* --- commands --- */

/* allowed states and how a command runs */
#define CMD_NOTAUTH   0x01
#define CMD_AUTH      0x02
#define CMD_SELECTED  0x04
#define CMD_ANY       (CMD_NOTAUTH | CMD_AUTH | CMD_SELECTED)
#define CMD_AUTHED    (CMD_AUTH | CMD_SELECTED)
#define CMD_LOOP      0x10   /* runs on the event loop */
#define CMD_UIDOK     0x20   /* has a UID form */
#define CMD_NOEXPUNGE 0x40   /* EXPUNGE may not be sent after it (RFC 3501 7.4.1) */
#define CMD_NOSYNC    0x80   /* no untagged updates after it */

struct imap_cmd;
/* Runs (part of) the command; true when it is finished (its tagged reply
 * set), false to be called again once the output has drained. */
typedef bool imap_cmd_fn(struct imap_cmd *cmd);

struct imap_command_def {
	const char *name;
	unsigned int flags;
	imap_cmd_fn *run;
};

const struct imap_command_def *imap_command_find(const char *name);

struct imap_cmd {
	struct imap_client *client;
	struct pool *pool;
	struct imap_parser *parser;
	const char *tag, *name;
	const struct imap_command_def *def;
	const struct imap_arg *args;
	unsigned int count;
	bool uid;                  /* "UID FETCH" */
	bool finished;
	uint64_t literal_total;
	bool literal_refused_no;   /* an APPEND literal over APPENDLIMIT: NO, not BAD */
	bool bye;                  /* the session ends after this command */
	imap_cmd_fn *fn;           /* what runs on the thread pool */
	struct mailbox *mb;        /* opened by imap_client_mailbox(), closed at the end */
	struct buf out;            /* untagged responses and data (malloc'd) */
	/* the tagged reply: "OK"/"NO"/"BAD" and its text (with code) */
	const char *status;
	char *reply;
	void *ctx;                 /* the command's own state */
	/* run on the loop after the tagged reply is written */
	void (*after)(struct imap_cmd *cmd);
	/* AUTHENTICATE and IDLE continue on the loop with input lines */
	void (*line)(struct imap_cmd *cmd, const char *line, size_t len);
};

/* Tagged replies (the text may hold a [CODE]). */
void imap_cmd_ok(struct imap_cmd *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void imap_cmd_no(struct imap_cmd *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void imap_cmd_bad(struct imap_cmd *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* NO or BAD from a store result, with the RFC 5530 code. */
void imap_cmd_store_error(struct imap_cmd *cmd, int result, const char *error);
/* Untagged output: "* " + text + CRLF. */
void imap_cmd_untagged(struct imap_cmd *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sends the continuation request and keeps reading lines for the
 * command (AUTHENTICATE, IDLE); on the loop. */
void imap_cmd_continue(struct imap_cmd *cmd, const char *text, enum input_mode mode);
/* Runs a function of the command on the thread pool (from the loop). */
void imap_cmd_submit(struct imap_cmd *cmd, imap_cmd_fn *fn);
/* A loop command that waited for lines is finished: writes the tagged
 * reply and goes on with the input. */
void imap_cmd_finish(struct imap_cmd *cmd);

/* --- session helpers (imap-client.c) --- */

void imap_client_accept(struct imap_server *srv, struct conn *c);
void imap_client_ref(struct imap_client *c);
void imap_client_unref(struct imap_client **c);
/* Writes "* BYE text" and closes after it (on the loop). */
void imap_client_bye(struct imap_client *c, const char *text);
/* The CAPABILITY list for the session's state. */
void imap_capabilities(const struct imap_client *c, struct buf *out);
/* Opens the logged-in user's mailbox handle (pool thread); NULL with a
 * NO already set on cmd. */
struct mailbox *imap_client_mailbox(struct imap_cmd *cmd);
void imap_client_mailbox_close(struct mailbox **mb);
void imap_client_stop(struct imap_client *c);

/* --- mailbox names (imap-names.c) --- */

/* A mailbox name from the wire (mUTF-7 unless UTF8=ACCEPT) into the
 * store's UTF-8 form; NULL with a BAD/NO set when invalid. */
const char *imap_name_in(struct imap_cmd *cmd, const char *wire);
/* The store's name as the client must see it, appended as an astring. */
void imap_name_out(const struct imap_client *c, struct buf *out, const char *name);

/* --- the selected folder (imap-sync.c) --- */

#define SYNC_NO_EXPUNGE 0x1  /* keep expunges for later */
#define SYNC_UID_FETCH  0x2  /* the command is a UID command: FETCH carries UID */

/* Opens the view of a folder (SELECT/EXAMINE): fills c->view and writes
 * the untagged responses.  Returns a store result. */
int imap_view_open(struct imap_cmd *cmd, struct mailbox *mb, const char *name, bool readonly,
		   const char **error_r);
void imap_view_close(struct imap_client *c);
/* Brings the view up to date, writing EXISTS/EXPUNGE/VANISHED/FETCH/FLAGS
 * into out.  -1 when the folder went away (the session must end). */
int imap_sync(struct imap_client *c, struct mailbox *mb, struct buf *out, unsigned int flags);
/* Writes " FLAGS (...)" content (without the word) for a message. */
void imap_write_flags(const struct imap_client *c, struct buf *out, uint32_t uid, uint32_t flags,
		      const char *keywords);
/* FLAGS and PERMANENTFLAGS for the folder's keywords. */
void imap_write_flag_lists(struct imap_client *c, struct buf *out, const char *keywords);
/* Turns CONDSTORE on (a MODSEQ item, UNCHANGEDSINCE...), announcing the
 * HIGHESTMODSEQ when a folder is selected. */
void imap_condstore_enable(struct imap_cmd *cmd);
/* Records a MODSEQ this session produced (its FETCH responses are out). */
void imap_view_own_modseq(struct imap_view *v, uint64_t modseq);
/* Removes an expunged UID from the view and reports it (EXPUNGE or
 * VANISHED), e.g. after MOVE. */
void imap_view_expunged(struct imap_client *c, struct buf *out, const uint32_t *uids, size_t n);

/* The sequence or UID set of a command, resolved against the view into
 * sorted UIDs (malloc'd).  "$" is SEARCHRES.  -1 on bad syntax (BAD set). */
int imap_uids_from_set(struct imap_cmd *cmd, const char *set, bool uid, uint32_t **uids_r,
		       size_t *n_r);

/* --- flags --- */

/* Parses a flag list (or a single flag) into system flags and keywords
 * (space-separated, in pool).  -1 with BAD set. */
int imap_flags_parse(struct imap_cmd *cmd, const struct imap_arg *arg, bool list_only,
		     uint32_t *flags_r, const char **keywords_r);

/* --- search (imap-search.c) --- */

struct imap_search;
struct store_message;

/* Parses search keys (after CHARSET); NULL with the reply set. */
struct imap_search *imap_search_parse(struct imap_cmd *cmd, const struct imap_arg *args,
				      unsigned int count);
/* Runs the search over the view: matching UIDs ascending (malloc'd).
 * When MODSEQ was a key, *modseqs_r holds each one's MODSEQ (malloc'd),
 * else NULL.  -1 with the reply set. */
int imap_search_run(struct imap_cmd *cmd, struct mailbox *mb, struct imap_search *s,
		    uint32_t **uids_r, size_t *n_r, uint64_t **modseqs_r);

/* --- casefolding for SEARCH, SORT, THREAD (imap-fold.c) --- */

/* UTF-8 folded for case-insensitive comparison (simple case folding of
 * Latin, Greek, Cyrillic; other characters kept). */
void imap_fold(struct buf *out, const char *s, size_t len);
/* Case-insensitive substring of folded text. */
bool imap_fold_contains(const char *folded_hay, size_t hay_len, const char *folded_needle,
			size_t needle_len);

/* --- sort and thread (imap-sort.c, imap-thread.c) --- */

struct sort_msg {
	uint32_t uid, seq;
	int64_t arrival, date;      /* internal date; Date: header (UTC), arrival when absent */
	uint64_t size;
	const char *subject;        /* base subject, folded */
	const char *from, *to, *cc; /* first address's mailbox, folded */
	const char *message_id;
	const char **references;    /* References (or In-Reply-To), oldest first */
	unsigned int n_refs;
	bool reply;                 /* the subject was a reply or forward */
};

/* RFC 5256 base subject, folded, into pool; *reply_r tells whether
 * "Re:"/"Fwd:" or the like was removed. */
const char *imap_base_subject(struct pool *pool, const char *subject, bool *reply_r);
/* THREAD responses (without "* THREAD"). */
void imap_thread_orderedsubject(struct sort_msg *msgs, size_t n, bool uid, struct buf *out);
void imap_thread_references(struct pool *pool, struct sort_msg *msgs, size_t n, bool uid,
			    struct buf *out);
/* Loads sort keys of the view's messages among uids (pool thread);
 * the count loaded, or -1 with the reply set. */
int imap_sort_load(struct imap_cmd *cmd, struct mailbox *mb, const uint32_t *uids, size_t n,
		   bool want_refs, struct sort_msg **msgs_r);

/* --- commands (cmd-*.c) --- */

bool imap_cmd_capability(struct imap_cmd *cmd);
bool imap_cmd_noop(struct imap_cmd *cmd);
bool imap_cmd_logout(struct imap_cmd *cmd);
bool imap_cmd_starttls(struct imap_cmd *cmd);
bool imap_cmd_login(struct imap_cmd *cmd);
bool imap_cmd_authenticate(struct imap_cmd *cmd);
bool imap_cmd_id(struct imap_cmd *cmd);
bool imap_cmd_enable(struct imap_cmd *cmd);
bool imap_cmd_compress(struct imap_cmd *cmd);
bool imap_cmd_namespace(struct imap_cmd *cmd);
bool imap_cmd_select(struct imap_cmd *cmd);
bool imap_cmd_examine(struct imap_cmd *cmd);
bool imap_cmd_close(struct imap_cmd *cmd);
bool imap_cmd_unselect(struct imap_cmd *cmd);
bool imap_cmd_expunge(struct imap_cmd *cmd);
bool imap_cmd_create(struct imap_cmd *cmd);
bool imap_cmd_delete(struct imap_cmd *cmd);
bool imap_cmd_rename(struct imap_cmd *cmd);
bool imap_cmd_subscribe(struct imap_cmd *cmd);
bool imap_cmd_unsubscribe(struct imap_cmd *cmd);
bool imap_cmd_status(struct imap_cmd *cmd);
bool imap_cmd_getquota(struct imap_cmd *cmd);
bool imap_cmd_getquotaroot(struct imap_cmd *cmd);
bool imap_cmd_setquota(struct imap_cmd *cmd);
bool imap_cmd_list(struct imap_cmd *cmd);
bool imap_cmd_lsub(struct imap_cmd *cmd);
bool imap_cmd_append(struct imap_cmd *cmd);
bool imap_cmd_fetch(struct imap_cmd *cmd);
bool imap_cmd_store(struct imap_cmd *cmd);
bool imap_cmd_copy(struct imap_cmd *cmd);
bool imap_cmd_move(struct imap_cmd *cmd);
bool imap_cmd_search(struct imap_cmd *cmd);
bool imap_cmd_sort(struct imap_cmd *cmd);
bool imap_cmd_thread(struct imap_cmd *cmd);
bool imap_cmd_idle(struct imap_cmd *cmd);

/* STATUS items of a folder, also for LIST-STATUS. */
struct store_folder;
int imap_status_items(struct imap_cmd *cmd, const struct imap_arg *items, unsigned int count,
		      unsigned int *mask_r);
void imap_status_write(struct imap_cmd *cmd, const struct store_folder *f, unsigned int mask);

/* Conversion of a message appended as literal8 with binary parts into
 * base64 (RFC 3516 4.4); NULL when nothing needs converting. */
char *imap_binary_to_base64(struct pool *pool, const char *msg, size_t len, size_t *len_r);

#endif
