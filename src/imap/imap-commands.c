/* The command table: name, the states it is allowed in, how it runs. */

#include "imap-private.h"
#include "lib/util.h"

#include <string.h>

static const struct imap_command_def commands[] = {
	{ "CAPABILITY", CMD_ANY | CMD_LOOP, imap_cmd_capability },
	{ "NOOP", CMD_ANY, imap_cmd_noop },
	{ "LOGOUT", CMD_ANY | CMD_LOOP, imap_cmd_logout },
	{ "STARTTLS", CMD_NOTAUTH | CMD_LOOP, imap_cmd_starttls },
	{ "LOGIN", CMD_NOTAUTH | CMD_LOOP, imap_cmd_login },
	{ "AUTHENTICATE", CMD_NOTAUTH | CMD_LOOP, imap_cmd_authenticate },
	{ "ID", CMD_ANY | CMD_LOOP, imap_cmd_id },
	{ "ENABLE", CMD_AUTHED | CMD_LOOP, imap_cmd_enable },
	{ "COMPRESS", CMD_AUTHED | CMD_LOOP, imap_cmd_compress },
	{ "NAMESPACE", CMD_AUTHED | CMD_LOOP, imap_cmd_namespace },
	{ "IDLE", CMD_AUTHED | CMD_LOOP, imap_cmd_idle },
	{ "SELECT", CMD_AUTHED | CMD_NOSYNC, imap_cmd_select },
	{ "EXAMINE", CMD_AUTHED | CMD_NOSYNC, imap_cmd_examine },
	{ "CREATE", CMD_AUTHED, imap_cmd_create },
	{ "DELETE", CMD_AUTHED, imap_cmd_delete },
	{ "RENAME", CMD_AUTHED, imap_cmd_rename },
	{ "SUBSCRIBE", CMD_AUTHED, imap_cmd_subscribe },
	{ "UNSUBSCRIBE", CMD_AUTHED, imap_cmd_unsubscribe },
	{ "LIST", CMD_AUTHED, imap_cmd_list },
	{ "LSUB", CMD_AUTHED, imap_cmd_lsub },
	{ "STATUS", CMD_AUTHED, imap_cmd_status },
	{ "APPEND", CMD_AUTHED, imap_cmd_append },
	{ "GETQUOTA", CMD_AUTHED, imap_cmd_getquota },
	{ "GETQUOTAROOT", CMD_AUTHED, imap_cmd_getquotaroot },
	{ "SETQUOTA", CMD_AUTHED, imap_cmd_setquota },
	{ "CHECK", CMD_SELECTED, imap_cmd_noop },
	{ "CLOSE", CMD_SELECTED | CMD_NOSYNC, imap_cmd_close },
	{ "UNSELECT", CMD_SELECTED | CMD_NOSYNC, imap_cmd_unselect },
	{ "EXPUNGE", CMD_SELECTED | CMD_UIDOK, imap_cmd_expunge },
	{ "SEARCH", CMD_SELECTED | CMD_UIDOK | CMD_NOEXPUNGE, imap_cmd_search },
	{ "FETCH", CMD_SELECTED | CMD_UIDOK | CMD_NOEXPUNGE, imap_cmd_fetch },
	{ "STORE", CMD_SELECTED | CMD_UIDOK | CMD_NOEXPUNGE, imap_cmd_store },
	{ "COPY", CMD_SELECTED | CMD_UIDOK | CMD_NOEXPUNGE, imap_cmd_copy },
	{ "MOVE", CMD_SELECTED | CMD_UIDOK, imap_cmd_move },
	{ "SORT", CMD_SELECTED | CMD_UIDOK | CMD_NOEXPUNGE, imap_cmd_sort },
	{ "THREAD", CMD_SELECTED | CMD_UIDOK | CMD_NOEXPUNGE, imap_cmd_thread },
};

const struct imap_command_def *imap_command_find(const char *name)
{
	for (size_t i = 0; i < N_ELEMENTS(commands); i++) {
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	}
	return NULL;
}
