/* html.c - OUT/report.html: one self-contained page for a file:// URL.
 *
 * Nothing is fetched from anywhere: styles and the sorting script are
 * inline, charts are inline SVG, pictures are relative links to the PNGs
 * beside the page, and a Content-Security-Policy forbids every other source.
 * Every piece of text that comes from the study (subjects, sessions, paths,
 * messages) is escaped, so a name cannot inject markup.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmeq/files.h"
#include "bmeq/outdir.h"
#include "bmeq/strbuf.h"
#include "report_internal.h"

/* The page is built in the one string buffer (bmeq/strbuf.h); short local names. */
typedef bmeq_strbuf sbuf;

static void sb_add(sbuf *b, const char *p, size_t n)
{
	bmeq_strbuf_add(b, p, n);
}

static void sb_puts(sbuf *b, const char *s)
{
	bmeq_strbuf_puts(b, s);
}

static void sb_printf(sbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
	__attribute__((format(printf, 2, 3)))
#endif
	;

static void sb_printf(sbuf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	bmeq_strbuf_vprintf(b, fmt, ap);
	va_end(ap);
}

/* Text for element content and quoted attribute values. */
static void sb_esc(sbuf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': sb_puts(b, "&amp;"); break;
		case '<': sb_puts(b, "&lt;"); break;
		case '>': sb_puts(b, "&gt;"); break;
		case '"': sb_puts(b, "&quot;"); break;
		case '\'': sb_puts(b, "&#39;"); break;
		default: sb_add(b, s, 1);
		}
	}
}

/* A relative URL from path segments: every byte outside the unreserved set
 * is percent-encoded, so a name holding '#', '?', '%' or quotes still links
 * to its file. */
static void sb_url_seg(sbuf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		    *p == '-' || *p == '.' || *p == '_' || *p == '~') {
			sb_add(b, (const char *)p, 1);
		} else {
			char e[3] = {'%', hex[*p >> 4], hex[*p & 15]};
			sb_add(b, e, 3);
		}
	}
}

/* The scan's folder as bmeq/outdir.h names it (a label may be sanitised
 * there, never in the tables). */
static void sb_folder_seg(sbuf *b, const char *label)
{
	char f[BMEQ_PATH_MAX];

	if (bmeq_out_label_folder(label, f, sizeof(f)) == BMEQ_OK)
		sb_url_seg(b, f);
}

static void sb_pic_url(sbuf *b, const bmeq_rp_scan *s, const char *suffix)
{
	sb_folder_seg(b, s->subject);
	sb_puts(b, "/");
	if (s->session[0]) {
		sb_folder_seg(b, s->session);
		sb_puts(b, "/");
	}
	sb_url_seg(b, s->stem);
	sb_url_seg(b, suffix);
}

static void sb_num(sbuf *b, double v, int dec)
{
	if (isfinite(v))
		sb_printf(b, "%.*f", dec, v);
	else
		sb_puts(b, "&ndash;");
}

static const char style[] =
	"body{font-family:sans-serif;margin:1.5em;color:#1d1d1f;background:#fafafa}"
	"h1{margin-bottom:.2em}h2{border-bottom:1px solid #ccc;padding-bottom:.2em}"
	"table{border-collapse:collapse;margin:.6em 0;background:#fff}"
	"th,td{border:1px solid #bbb;padding:.25em .6em;text-align:left;font-size:.92em}"
	"th{background:#e8e8ee;cursor:pointer;user-select:none}"
	"th[aria-sort=ascending]::after{content:' \\25B2'}th[aria-sort=descending]::after{content:' \\25BC'}"
	"td.num{text-align:right;font-variant-numeric:tabular-nums}"
	".flag{color:#b00000;font-weight:bold}.err{color:#b00000}"
	".cards{display:flex;flex-wrap:wrap;gap:1em}.card{background:#fff;border:1px solid #ccc;"
	"padding:.6em 1em;border-radius:6px}.card b{font-size:1.6em;display:block}"
	".charts,.thumbs{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}"
	"figure{margin:0;background:#fff;border:1px solid #ccc;padding:.4em}"
	"figure img{width:260px;height:auto;display:block}figcaption{font-size:.85em;max-width:260px}"
	"svg{background:#fff;border:1px solid #ccc}"
	".note{color:#555;font-size:.9em}"
	".range{color:#555}.uncertain{color:#8a5a00;font-style:italic}"
	".reader{color:#1f5fd0;font-size:.85em}"
	"td.rv select,td.rv input{font-size:.9em}td.rv input{width:11em}"
	"#review-bar{position:sticky;top:0;background:#fafafa;padding:.4em 0;z-index:2;"
	"border-bottom:1px solid #ccc}#review-bar input{width:4em}";

static const char script[] =
	"(function(){\n"
	"function key(c){var v=c.getAttribute('data-v');return v===null?c.textContent.trim():v;}\n"
	"function cmp(x,y){var a=parseFloat(x),b=parseFloat(y);\n"
	" if(!isNaN(a)&&!isNaN(b)&&isFinite(x)&&isFinite(y))return a-b;\n"
	" return x.localeCompare(y,undefined,{numeric:true});}\n"
	"var ths=document.querySelectorAll('table.sortable th');\n"
	"for(var i=0;i<ths.length;i++){ths[i].addEventListener('click',function(){\n"
	" var th=this,row=th.parentNode,t=th.closest('table'),b=t.tBodies[0];\n"
	" var col=Array.prototype.indexOf.call(row.children,th);\n"
	" var asc=th.getAttribute('aria-sort')!=='ascending';\n"
	" for(var k=0;k<row.children.length;k++)row.children[k].removeAttribute('aria-sort');\n"
	" th.setAttribute('aria-sort',asc?'ascending':'descending');\n"
	" var rows=Array.prototype.slice.call(b.rows);\n"
	" rows.sort(function(p,q){var r=cmp(key(p.cells[col]),key(q.cells[col]));return asc?r:-r;});\n"
	" for(var j=0;j<rows.length;j++)b.appendChild(rows[j]);});}\n"
	"document.documentElement.setAttribute('data-script','ok');\n"
	"})();\n"
	/* The sign-off: decisions and comments per scan and side stay in this
	 * browser (localStorage, per report file) until exported as review.csv,
	 * a download made here, with no server. */
	"(function(){\n"
	"var store='bmeq-review:'+location.pathname,st={};\n"
	"try{st=JSON.parse(localStorage.getItem(store)||'{}')||{};}catch(e){st={};}\n"
	"function save(){try{localStorage.setItem(store,JSON.stringify(st));}catch(e){}}\n"
	"function key(el){var d=el.dataset;return d.subject+'\\u0000'+d.session+'\\u0000'+d.side;}\n"
	"var sels=document.querySelectorAll('select.rv-decision');\n"
	"var reader=document.getElementById('rv-reader'),status=document.getElementById('rv-status');\n"
	"function count(){var n=0;for(var i=0;i<sels.length;i++)n+=sels[i].value?1:0;\n"
	" document.getElementById('rv-count').textContent=n+' of '+sels.length+' hips reviewed';}\n"
	"function hook(sel){var c=sel.parentNode.querySelector('input.rv-comment'),s=st[key(sel)];\n"
	" if(s){sel.value=s.d;c.value=s.c;}\n"
	" function ch(){if(sel.value)st[key(sel)]={d:sel.value,c:c.value,t:new Date().toISOString()};\n"
	"  else delete st[key(sel)];save();count();}\n"
	" sel.addEventListener('change',ch);c.addEventListener('change',ch);}\n"
	"for(var i=0;i<sels.length;i++)hook(sels[i]);\n"
	"try{reader.value=localStorage.getItem('bmeq-reader')||'';}catch(e){}\n"
	"reader.addEventListener('input',function(){try{localStorage.setItem('bmeq-reader',reader.value);}catch(e){}});\n"
	"function q(v){v=String(v);return /[\",\\r\\n]/.test(v)?'\"'+v.replace(/\"/g,'\"\"')+'\"':v;}\n"
	"document.getElementById('rv-export').addEventListener('click',function(){\n"
	" var r=reader.value.trim();\n"
	" if(!r){status.textContent='Enter your initials first.';reader.focus();return;}\n"
	" var rows=['subject,session,side,decision,comment,reader,time'],n=0;\n"
	" for(var i=0;i<sels.length;i++){var sel=sels[i];if(!sel.value)continue;\n"
	"  var c=sel.parentNode.querySelector('input.rv-comment'),s=st[key(sel)];\n"
	"  var t=s&&s.t?s.t:new Date().toISOString();\n"
	"  rows.push([sel.dataset.subject,sel.dataset.session,sel.dataset.side,sel.value,c.value,r,t].map(q).join(','));n++;}\n"
	" var blob=new Blob([rows.join('\\r\\n')+'\\r\\n'],{type:'text/csv'});\n"
	" var a=document.createElement('a');a.href=URL.createObjectURL(blob);a.download='review.csv';\n"
	" document.body.appendChild(a);a.click();document.body.removeChild(a);\n"
	" status.textContent='review.csv: '+n+' decisions exported.';});\n"
	"count();document.documentElement.setAttribute('data-review','ok');\n"
	"})();\n";

/* Edema over the sessions of one subject and side. */
static void chart(sbuf *b, const bmeq_rp_scan *v, size_t first, size_t count, int side)
{
	const int W = 320, H = 170, L = 48, R = 14, T = 24, B = 34;
	double ymax = 1.0;

	for (size_t i = 0; i < count; i++) {
		double e = v[first + i].edema_ml[side];
		if (isfinite(e) && e > ymax)
			ymax = e;
	}
	ymax *= 1.1;
	sb_printf(b, "<svg class=\"chart\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" role=\"img\" "
		     "aria-label=\"%s hip edema by session\">",
		  W, H, W, H, side ? "Left" : "Right");
	sb_printf(b, "<text x=\"%d\" y=\"16\" font-size=\"13\" font-weight=\"bold\">%s hip: edema (mL)</text>",
		  L, side ? "Left" : "Right");
	sb_printf(b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>", L, T, L, H - B);
	sb_printf(b, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>", L, H - B, W - R,
		  H - B);
	for (int k = 0; k <= 2; k++) {
		double val = ymax * k / 2.0;
		double y = (H - B) - (H - B - T) * k / 2.0;
		sb_printf(b, "<text x=\"%d\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%.1f</text>",
			  L - 4, y + 3, val);
		if (k)
			sb_printf(b, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#ddd\"/>", L,
				  y, W - R, y);
	}
	double px_prev = NAN, py_prev = NAN;
	for (size_t i = 0; i < count; i++) {
		const bmeq_rp_scan *s = &v[first + i];
		double x = count == 1 ? (L + W - R) / 2.0
				      : L + 12 + (W - R - L - 24) * (double)i / (double)(count - 1);
		double e = s->edema_ml[side];
		sb_printf(b, "<text x=\"%.1f\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">", x,
			  H - B + 14);
		sb_esc(b, s->session[0] ? s->session : "-");
		sb_puts(b, "</text>");
		if (!isfinite(e)) {
			sb_printf(b, "<text x=\"%.1f\" y=\"%d\" font-size=\"12\" fill=\"#b00000\" "
				     "text-anchor=\"middle\">&#215;<title>",
				  x, H - B - 4);
			sb_esc(b, s->session);
			sb_puts(b, ": not measured</title></text>");
			px_prev = py_prev = NAN;
			continue;
		}
		double y = (H - B) - (H - B - T) * e / ymax;
		if (isfinite(px_prev))
			sb_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" "
				     "stroke-width=\"2\"/>",
				  px_prev, py_prev, x, y, side ? "#1f5fd0" : "#c03020");
		sb_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"><title>", x, y,
			  side ? "#1f5fd0" : "#c03020");
		sb_esc(b, s->session);
		sb_printf(b, ": %.3f mL", e);
		if (isfinite(s->edema_ml_low[side]) && isfinite(s->edema_ml_high[side]))
			sb_printf(b, " (%.3f-%.3f)", s->edema_ml_low[side], s->edema_ml_high[side]);
		sb_puts(b, "</title></circle>");
		px_prev = x;
		py_prev = y;
	}
	sb_printf(b, "<text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"middle\">session</text>",
		  (L + W - R) / 2, H - 6);
	sb_puts(b, "</svg>");
}

static int failed(const bmeq_rp_scan *s)
{
	return strcmp(s->status, "ok") != 0;
}

static const char *reason(const bmeq_rp_scan *s)
{
	if (s->message[0])
		return s->message;
	if (!s->has_record)
		return "no completion record (the scan was not processed)";
	return "scan failed";
}

/* The volume with its range beside it ("4.100 (3.600-4.700)": the rule's
 * factor moved by the band), sorted by the volume; a reader's factor is
 * marked. */
static void edema_cell(sbuf *b, const bmeq_rp_scan *s, int side)
{
	double e = s->edema_ml[side], lo = s->edema_ml_low[side], hi = s->edema_ml_high[side];

	if (isfinite(e))
		sb_printf(b, "<td class=\"num\" data-v=\"%.3f\">", e);
	else
		sb_puts(b, "<td class=\"num\">");
	sb_num(b, e, 3);
	if (isfinite(e) && isfinite(lo) && isfinite(hi))
		sb_printf(b, " <span class=\"range\" title=\"edema with the threshold factor "
			     "moved by its band\">(%.3f-%.3f)</span>",
			  lo, hi);
	if (isfinite(e) && strcmp(s->threshold_source, "reader") == 0) {
		sb_puts(b, " <span class=\"reader\" title=\"threshold factor set by a reader: ");
		sb_esc(b, s->rule);
		sb_puts(b, "\">reader</span>");
	}
	sb_puts(b, "</td>");
}

/* The response class; an uncertain one is marked, with the reason (from the
 * message column) as its title. */
static void response_cell(sbuf *b, const bmeq_rp_scan *s, int side)
{
	const char *name = s->has_response[side] ? s->response[side] : s->is_baseline ? "baseline" : "-";

	if (!(s->has_response[side] && s->uncertain[side])) {
		sb_puts(b, "<td>");
		sb_esc(b, name);
		sb_puts(b, "</td>");
		return;
	}
	sb_puts(b, "<td class=\"uncertain\" data-v=\"");
	sb_esc(b, name);
	sb_puts(b, "\" title=\"");
	sb_esc(b, s->response_message[side]);
	sb_puts(b, "\">");
	sb_esc(b, name);
	sb_puts(b, " (uncertain)</td>");
}

/* The reader's sign-off of a scan and side: a decision and a comment (the
 * page's script keeps them and exports review.csv); a decision already in
 * the tables (batch --review) is shown beside it. */
static void review_cell(sbuf *b, const bmeq_rp_scan *s, int side)
{
	sb_puts(b, "<td class=\"rv\" data-v=\"");
	sb_esc(b, s->review[side]);
	sb_puts(b, "\"><select class=\"rv-decision\" aria-label=\"review decision\" data-subject=\"");
	sb_esc(b, s->subject);
	sb_puts(b, "\" data-session=\"");
	sb_esc(b, s->session);
	sb_printf(b, "\" data-side=\"%s\"><option value=\"\">-</option>"
		     "<option value=\"accepted\">accepted</option>"
		     "<option value=\"needs_correction\">needs correction</option>"
		     "<option value=\"excluded\">excluded</option></select> "
		     "<input class=\"rv-comment\" placeholder=\"comment\" aria-label=\"review comment\">",
		  bmeq_side_name((bmeq_side)side));
	if (s->review[side][0]) {
		sb_puts(b, " <span class=\"note rv-table\">in the tables: ");
		sb_esc(b, s->review[side]);
		sb_puts(b, "</span>");
	}
	sb_puts(b, "</td>");
}

static void subject_section(sbuf *b, const bmeq_rp_scan *v, size_t first, size_t count, size_t idx)
{
	const bmeq_rp_scan *s0 = &v[first];

	sb_printf(b, "<section class=\"subject\" id=\"subject-%zu\" data-subject=\"", idx);
	sb_esc(b, s0->subject);
	sb_puts(b, "\"><h2>Subject ");
	sb_esc(b, s0->subject);
	sb_puts(b, "</h2>\n<table class=\"sortable\"><thead><tr><th>session</th><th>side</th>"
		   "<th>status</th><th>edema mL (range)</th><th>% of region</th><th>response vs baseline</th>"
		   "<th>change mL</th><th>change %</th><th>early retreatment</th><th>message</th>"
		   "<th>review</th></tr></thead><tbody>\n");
	for (size_t i = 0; i < count; i++) {
		const bmeq_rp_scan *s = &v[first + i];
		for (int side = 0; side < 2; side++) {
			sb_printf(b, "<tr><td data-v=\"%zu\">", i);
			sb_esc(b, s->session[0] ? s->session : "-");
			sb_printf(b, "%s</td><td>%s</td><td%s>", s->is_baseline ? " (baseline)" : "",
				  bmeq_side_name((bmeq_side)side), failed(s) ? " class=\"err\"" : "");
			sb_esc(b, failed(s) ? "error" : s->side_status[side][0] ? s->side_status[side] : "-");
			sb_puts(b, "</td>");
			edema_cell(b, s, side);
			sb_puts(b, "<td class=\"num\">");
			sb_num(b, 100.0 * s->fraction[side], 1);
			sb_puts(b, "</td>");
			response_cell(b, s, side);
			sb_puts(b, "<td class=\"num\">");
			sb_num(b, s->change_ml[side], 3);
			sb_puts(b, "</td><td class=\"num\">");
			sb_num(b, s->change_pct[side], 1);
			int flag = s->has_response[side] && strcmp(s->early[side], "yes") == 0;
			sb_printf(b, "</td><td%s>", flag ? " class=\"flag\"" : "");
			sb_esc(b, s->has_response[side] ? s->early[side] : "");
			sb_puts(b, "</td><td>");
			const char *msg = failed(s) ? reason(s)
				: s->response_message[side][0] ? s->response_message[side]
							       : s->side_message[side];
			sb_esc(b, msg);
			sb_puts(b, "</td>");
			review_cell(b, s, side);
			sb_puts(b, "</tr>\n");
		}
	}
	sb_puts(b, "</tbody></table>\n<div class=\"charts\">");
	chart(b, v, first, count, 0);
	chart(b, v, first, count, 1);
	sb_puts(b, "</div>\n<h3>QC pictures</h3><div class=\"thumbs\">");
	for (size_t i = 0; i < count; i++) {
		const bmeq_rp_scan *s = &v[first + i];
		for (int k = 0; k < 2; k++) {
			int have = k ? s->change_qc : s->qc;
			const char *why = k ? s->change_note : s->qc_note;
			if (k && s->is_baseline)
				continue;
			sb_puts(b, "<figure>");
			if (have) {
				sb_puts(b, "<a href=\"");
				sb_pic_url(b, s, bmeq_scan_file_name(k ? BMEQ_SCAN_CHANGE_QC : BMEQ_SCAN_QC));
				sb_puts(b, "\"><img loading=\"lazy\" src=\"");
				sb_pic_url(b, s, bmeq_scan_file_name(k ? BMEQ_SCAN_CHANGE_QC : BMEQ_SCAN_QC));
				sb_puts(b, "\" alt=\"");
				sb_puts(b, k ? "change QC " : "QC ");
				sb_esc(b, s->subject);
				sb_puts(b, " ");
				sb_esc(b, s->session);
				sb_puts(b, "\"></a>");
			}
			sb_puts(b, "<figcaption>session ");
			sb_esc(b, s->session[0] ? s->session : "-");
			sb_puts(b, k ? ": change vs baseline" : ": scan");
			if (!have) {
				sb_puts(b, "<br><span class=\"note\">no picture: ");
				sb_esc(b, why[0] ? why : "not drawn");
				sb_puts(b, "</span>");
			}
			sb_puts(b, "</figcaption></figure>");
		}
	}
	sb_puts(b, "</div></section>\n");
}

bmeq_status bmeq_rp_html(const char *outdir, const bmeq_rp_scan *v, size_t n,
			 bmeq_report_summary *sum)
{
	static const char *const classes[] = {"complete", "partial", "stable", "progression",
					      "new", "none", "not_evaluable"};
	size_t counts[7] = {0}, nfail = 0, nsubj = 0, nearly = 0, nuncertain = 0;
	sbuf b = BMEQ_STRBUF_INIT;
	char path[BMEQ_PATH_MAX];

	for (size_t i = 0; i < n; i++) {
		nfail += (size_t)failed(&v[i]);
		if (i == 0 || strcmp(v[i].subject, v[i - 1].subject) != 0)
			nsubj++;
		for (int side = 0; side < 2; side++) {
			if (!v[i].has_response[side])
				continue;
			for (int k = 0; k < 7; k++)
				counts[k] += strcmp(v[i].response[side], classes[k]) == 0;
			nearly += strcmp(v[i].early[side], "yes") == 0;
			nuncertain += (size_t)v[i].uncertain[side];
		}
	}
	sum->scans = n;
	sum->failed = nfail;

	sb_puts(&b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		    "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
		    "img-src 'self' file: data:; style-src 'unsafe-inline'; "
		    "script-src 'unsafe-inline'\">\n<title>bmeq study report</title>\n<style>");
	sb_puts(&b, style);
	sb_printf(&b, "</style></head><body>\n<h1>bmeq study report</h1>\n<p class=\"note\">bmeq %s. "
		      "Edema volumes per hip and visit, response of each follow-up against the "
		      "subject's baseline. Click a column heading to sort.</p>\n",
		  bmeq_version());
	sb_puts(&b, "<div id=\"review-bar\">Sign-off: mark each hip in the subjects' tables "
		    "(accepted, needs correction, excluded) with a comment; reader initials "
		    "<input id=\"rv-reader\" maxlength=\"16\" aria-label=\"reader initials\"> "
		    "<button id=\"rv-export\" type=\"button\">Export review.csv</button> "
		    "<span id=\"rv-count\"></span> <span id=\"rv-status\" class=\"note\"></span>"
		    "<br><span class=\"note\">Decisions stay in this browser until exported; "
		    "<code>bmeq batch ... --review review.csv</code> writes them into the tables "
		    "(excluded hips become not_evaluable).</span></div>\n");
	sb_puts(&b, "<section id=\"summary\"><h2>Summary</h2><div class=\"cards\">");
	sb_printf(&b, "<div class=\"card\" id=\"n-subjects\"><b>%zu</b>subjects</div>", nsubj);
	sb_printf(&b, "<div class=\"card\" id=\"n-scans\"><b>%zu</b>scans</div>", n);
	sb_printf(&b, "<div class=\"card\" id=\"n-failed\"><b>%zu</b>failed scans</div>", nfail);
	sb_printf(&b, "<div class=\"card\" id=\"n-early\"><b>%zu</b>hips flagged for early "
		      "retreatment</div>",
		  nearly);
	sb_printf(&b, "<div class=\"card\" id=\"n-uncertain\"><b>%zu</b>uncertain responses (the "
		      "class could change within the visits' ranges)</div></div>\n",
		  nuncertain);
	sb_puts(&b, "<table class=\"sortable\" id=\"responses\"><thead><tr><th>response (hips, "
		    "follow-up vs baseline)</th><th>count</th></tr></thead><tbody>");
	for (int k = 0; k < 7; k++)
		sb_printf(&b, "<tr><td>%s</td><td class=\"num\">%zu</td></tr>", classes[k], counts[k]);
	sb_puts(&b, "</tbody></table></section>\n");

	sb_puts(&b, "<section id=\"failed\"><h2>Failed scans</h2>");
	if (!nfail) {
		sb_puts(&b, "<p>None: every scan was measured.</p>");
	} else {
		sb_puts(&b, "<table class=\"sortable\" id=\"failed-table\"><thead><tr><th>subject</th>"
			    "<th>session</th><th>scan</th><th>reason</th></tr></thead><tbody>\n");
		for (size_t i = 0; i < n; i++) {
			if (!failed(&v[i]))
				continue;
			sb_puts(&b, "<tr class=\"failed-scan\"><td>");
			sb_esc(&b, v[i].subject);
			sb_puts(&b, "</td><td>");
			sb_esc(&b, v[i].session);
			sb_puts(&b, "</td><td>");
			sb_esc(&b, v[i].path);
			sb_puts(&b, "</td><td class=\"err\">");
			sb_esc(&b, reason(&v[i]));
			sb_puts(&b, "</td></tr>\n");
		}
		sb_puts(&b, "</tbody></table>");
	}
	sb_puts(&b, "</section>\n");

	for (size_t i = 0, idx = 0; i < n; idx++) {
		size_t j = i;
		while (j < n && strcmp(v[j].subject, v[i].subject) == 0)
			j++;
		subject_section(&b, v, i, j - i, idx);
		i = j;
	}
	sb_puts(&b, "<script>");
	sb_puts(&b, script);
	sb_puts(&b, "</script>\n</body></html>\n");
	if (b.oom) {
		bmeq_strbuf_free(&b);
		return bmeq_fail(BMEQ_E_NOMEM, "out of memory for the report page");
	}
	bmeq_status st = bmeq_out_path(outdir, BMEQ_OUT_REPORT, path, sizeof(path));
	if (st == BMEQ_OK)
		st = bmeq_write_file_atomic(path, b.s, b.len);
	bmeq_strbuf_free(&b);
	return st;
}
