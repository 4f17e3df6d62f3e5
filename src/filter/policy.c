#include "policy.h"
#include "lib/buf.h"
#include "lib/util.h"

#include <math.h>
#include <string.h>

enum filter_action policy_decide(double score, double tag, double cutoff, enum policy_list list,
				 enum filter_action blacklisted_action)
{
	if (list == POLICY_LIST_WHITE)
		return FILTER_INBOX;
	if (list == POLICY_LIST_BLACK)
		return blacklisted_action;
	if (score >= cutoff)
		return FILTER_DISCARD;
	if (score >= tag)
		return FILTER_FOLDER;
	return FILTER_INBOX;
}

void policy_headers(struct buf *out, double score, double required, const char *tests)
{
	/* SpamAssassin's forms, so that clients' rules keep working */
	buf_printf(out, "X-Spam-Score: %.1f\r\n", score);
	buf_append_str(out, "X-Spam-Level: ");
	int stars = score >= 1.0 ? (int)MIN(floor(score), 50.0) : 0;
	for (int i = 0; i < stars; i++)
		buf_append_c(out, '*');
	buf_append_str(out, "\r\n");
	size_t line_start = out->len;
	buf_printf(out, "X-Spam-Status: %s, score=%.1f required=%.1f tests=",
		   score >= required ? "Yes" : "No", score, required);
	/* fold the list of tests at commas so no line passes ~78 bytes */
	const char *p = tests != NULL && tests[0] != '\0' ? tests : "none";
	while (*p != '\0') {
		const char *comma = strchr(p, ',');
		size_t n = comma != NULL ? (size_t)(comma - p) + 1 : strlen(p);
		if (out->len - line_start + n > 76 && out->len > line_start) {
			buf_append_str(out, "\r\n\t");
			line_start = out->len - 1;
		}
		buf_append(out, p, n);
		p += n;
	}
	buf_append_str(out, "\r\n");
}
