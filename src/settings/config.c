/* config.c - the configuration file: `key = value` lines of the settings in
 * bmeq/settings.h. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "bmeq/config.h"

static char *trim(char *s)
{
	while (*s && isspace((unsigned char)*s))
		s++;
	char *e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

bmeq_status bmeq_config_apply(const char *text, size_t n, const bmeq_settings_target *t)
{
	size_t line = 0, i = 0;
	char buf[1024];

	while (i < n) {
		size_t start = i;
		while (i < n && text[i] != '\n')
			i++;
		size_t len = i - start;
		i++; /* past the newline */
		line++;
		if (len >= sizeof(buf))
			return bmeq_fail(BMEQ_E_FORMAT, "line %zu: too long", line);
		memcpy(buf, text + start, len);
		buf[len] = '\0';
		if (memchr(buf, '\0', len))
			return bmeq_fail(BMEQ_E_FORMAT, "line %zu: NUL byte", line);
		char *hash = strchr(buf, '#');
		if (hash)
			*hash = '\0';
		char *s = trim(buf);
		if (!*s)
			continue;
		char *eq = strchr(s, '=');
		if (!eq)
			return bmeq_fail(BMEQ_E_FORMAT, "line %zu: expected key = value", line);
		*eq = '\0';
		char *key = trim(s), *val = trim(eq + 1);
		if (!*key || !*val)
			return bmeq_fail(BMEQ_E_FORMAT, "line %zu: empty key or value", line);
		bmeq_status st = bmeq_settings_set(t, key, val);
		if (st != BMEQ_OK)
			return bmeq_fail(BMEQ_E_FORMAT, "line %zu: %s: %s", line, key, bmeq_last_error());
	}
	return BMEQ_OK;
}
