/* repair_report.c: the lines of am_repair's report (rp_say) and how a key is shown in
 * them (rp_key_text); repair_shared.h. Every repair file may call these; they call none. */
#include <stdarg.h>
#include <stdio.h>

#include "repair_shared.h"

void rp_say(repair *rp, const char *fmt, ...)
{
    if (!rp->report) return;
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    rp->report(rp->report_arg, line);
}

void rp_key_text(char *out, size_t cap, const char *ukey, size_t n)
{
    size_t o = 0, show = n > 32 ? 32 : n;
    if (!cap) return;
    for (size_t i = 0; i < show && o + 5 < cap; i++) {
        unsigned char c = (unsigned char)ukey[i];
        if (c >= 0x20 && c < 0x7f && c != '\\') out[o++] = (char)c;
        else o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
    }
    if (show < n && o + 4 < cap) o += (size_t)snprintf(out + o, cap - o, "...");
    out[o < cap ? o : cap - 1] = 0;
}
