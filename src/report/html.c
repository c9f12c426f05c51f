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
	"figure img{width:260px;height:auto;display:block}"
	"figure.study-figure img{width:760px;max-width:100%}figure.study-figure figcaption{max-width:none}figcaption{font-size:.85em;max-width:260px}"
	"svg{background:#fff;border:1px solid #ccc}"
	".note{color:#555;font-size:.9em}"
	".range{color:#555}.uncertain{color:#8a5a00;font-style:italic}"
	".reader{color:#1f5fd0;font-size:.85em}"
	"td.rv select,td.rv input{font-size:.9em}td.rv input{width:11em}"
	"#viewer{position:fixed;inset:0;background:rgba(20,20,24,.96);color:#eee;z-index:9;"
	"padding:.8em 1.2em;overflow:auto}#viewer[hidden]{display:none}"
	"#viewer .vpanes{display:flex;gap:1em;flex-wrap:wrap;margin-top:.6em}"
	"#viewer figure{background:#000;border:1px solid #555;color:#ddd}"
	"#viewer canvas{display:block;background:#000}#viewer .note{color:#bbb}"
	"#v-slider{width:22em;vertical-align:middle}button.view{font-size:.8em;margin:.2em .2em 0 0}"
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
	"})();\n";

static const char review_script[] =
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

static const char viewer_script[] =
	/* The every-slice viewer: a scan's mosaics are loaded only when its
	 * viewer is opened; one slider, the wheel and the arrow keys move
	 * every pane together. */
	"(function(){\n"
	"var V=document.getElementById('viewer'),sl=document.getElementById('v-slider');\n"
	"var lab=document.getElementById('v-label'),op=document.getElementById('v-opacity');\n"
	"var cbr=document.getElementById('v-roi'),cbe=document.getElementById('v-edema');\n"
	"var cv=[document.getElementById('v-c0'),document.getElementById('v-c1')],cur=null;\n"
	"function ready(i){return i&&i.complete&&i.naturalWidth>0;}\n"
	"function load(u){if(!u)return null;var i=new Image();i.onload=draw;i.src=u;return i;}\n"
	"function draw(){if(!cur)return;var k=cur.k,sx=(k%cur.cols)*cur.tw,sy=Math.floor(k/cur.cols)*cur.th,drawn=[];\n"
	" for(var p=0;p<cur.panes.length;p++){var P=cur.panes[p],c=cv[p],g=c.getContext('2d');\n"
	"  g.globalAlpha=1;g.fillStyle='#000';g.fillRect(0,0,c.width,c.height);var L=[];\n"
	"  if(ready(P.grey)){g.drawImage(P.grey,sx,sy,cur.tw,cur.th,0,0,c.width,c.height);L.push('grey');}\n"
	"  g.globalAlpha=op.value/100;\n"
	"  if(cbr.checked&&ready(P.roi)){g.drawImage(P.roi,sx,sy,cur.tw,cur.th,0,0,c.width,c.height);L.push('regions');}\n"
	"  if(cbe.checked&&ready(P.ov)){g.drawImage(P.ov,sx,sy,cur.tw,cur.th,0,0,c.width,c.height);L.push(P.ovname);}\n"
	"  g.globalAlpha=1;c.setAttribute('data-layers',L.join(' '));drawn.push(L.join('+'));}\n"
	" lab.textContent='slice '+(k+1)+' of '+cur.n;V.setAttribute('data-slice',k);\n"
	" V.setAttribute('data-layers',drawn.join('|'));}\n"
	"function go(k){if(!cur)return;cur.k=Math.max(0,Math.min(cur.n-1,k));sl.value=cur.k;draw();}\n"
	;

static const char viewer_script2[] =
	"function open(b){var d=b.dataset,chg=d.kind==='change',t1=!chg&&!!d.t1,two=chg||t1;\n"
	" cur={n:+d.n,cols:+d.cols,tw:+d.tw,th:+d.th,k:Math.floor((+d.n)/2),panes:[]};\n"
	" if(chg){cur.panes.push({grey:load(d.grey),ov:load(d.ov),ovname:'change'});\n"
	"  cur.panes.push({grey:load(d.fgrey),ov:load(d.fov),ovname:'change'});}\n"
	" else{cur.panes.push({grey:load(d.grey),roi:load(d.roi),ov:load(d.ov),ovname:'edema'});\n"
	"  if(t1)cur.panes.push({grey:load(d.t1),roi:cur.panes[0].roi,ov:cur.panes[0].ov,ovname:'edema'});}\n"
	" var w=cur.tw*(+d.mmw),h=cur.th*(+d.mmh),f=Math.min((two?460:640)/w,(window.innerHeight-170)/h,4);\n"
	" if(!(f>0))f=1;\n"
	" for(var p=0;p<2;p++){cv[p].width=Math.round(w*f);cv[p].height=Math.round(h*f);}\n"
	" document.getElementById('v-f1').hidden=!two;\n"
	" document.getElementById('v-cap0').textContent=chg?d.cap0:t1?'STIR':'';\n"
	" document.getElementById('v-cap1').textContent=chg?d.cap1:t1?'T1 of the visit, on the STIR\\'s slices (registered)':'';\n"
	" document.getElementById('v-title').textContent=d.title;\n"
	" document.getElementById('v-legend').textContent=chg?'blue: resolved (baseline), yellow: persistent, red: new (follow-up)':'green: femoral head, cyan: neck, red: edema'+(t1?' (edema should be dark on the T1)':'');\n"
	" cbr.parentNode.hidden=chg;sl.max=cur.n-1;sl.value=cur.k;V.hidden=false;\n"
	" V.setAttribute('data-open',d.id);V.focus();draw();}\n"
	"function close(){V.hidden=true;cur=null;V.removeAttribute('data-open');}\n"
	"var bs=document.querySelectorAll('button.view');\n"
	"for(var i=0;i<bs.length;i++)bs[i].addEventListener('click',function(){open(this);});\n"
	"document.getElementById('v-close').addEventListener('click',close);\n"
	"sl.addEventListener('input',function(){go(+sl.value);});\n"
	"op.addEventListener('input',draw);cbr.addEventListener('change',draw);cbe.addEventListener('change',draw);\n"
	"V.addEventListener('wheel',function(e){if(!cur)return;e.preventDefault();go(cur.k+(e.deltaY>0?1:-1));},{passive:false});\n"
	"document.addEventListener('keydown',function(e){if(!cur)return;var k=cur.k;\n"
	" if(e.key==='ArrowUp'||e.key==='ArrowRight')k++;else if(e.key==='ArrowDown'||e.key==='ArrowLeft')k--;\n"
	" else if(e.key==='PageUp')k+=5;else if(e.key==='PageDown')k-=5;else if(e.key==='Home')k=0;\n"
	" else if(e.key==='End')k=cur.n-1;else if(e.key==='Escape'){close();return;}else return;\n"
	" e.preventDefault();go(k);});\n"
	"document.documentElement.setAttribute('data-viewer','ok');\n"
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

static void sb_attr_url(sbuf *b, const char *attr, const bmeq_rp_scan *s, bmeq_scan_file f)
{
	sb_printf(b, " data-%s=\"", attr);
	sb_pic_url(b, s, bmeq_scan_file_name(f));
	sb_puts(b, "\"");
}

/* A button that opens the every-slice viewer on scan v[i] (change 0) or on
 * the follow-up v[i] beside its baseline (change 1). The mosaics' URLs and
 * geometry ride on the button; nothing is loaded until it is pressed. */
static void view_button(sbuf *b, const bmeq_rp_scan *v, size_t i, int change)
{
	const bmeq_rp_scan *s = &v[i], *base = &v[s->baseline];
	const bmeq_rp_slices *g = change ? &base->slices : &s->slices;

	if (!g->ok || (change && !s->change_slices))
		return;
	sb_printf(b, "<br><button type=\"button\" class=\"view\" data-kind=\"%s\" data-id=\"%zu%s\" "
		     "data-n=\"%d\" data-cols=\"%d\" data-tw=\"%d\" data-th=\"%d\" data-mmw=\"%.4f\" "
		     "data-mmh=\"%.4f\" data-title=\"",
		  change ? "change" : "scan", i, change ? "c" : "", g->n, g->cols, g->tw, g->th, g->mm_w,
		  g->mm_h);
	sb_esc(b, s->subject);
	sb_puts(b, " ");
	sb_esc(b, s->session);
	if (change) {
		sb_puts(b, " vs baseline ");
		sb_esc(b, base->session);
		sb_puts(b, "\" data-cap0=\"baseline ");
		sb_esc(b, base->session);
		sb_puts(b, "\" data-cap1=\"follow-up ");
		sb_esc(b, s->session);
		sb_puts(b, " (shifted onto the baseline by the head centres)\"");
		sb_attr_url(b, "grey", base, BMEQ_SCAN_SLICES);
		sb_attr_url(b, "ov", s, BMEQ_SCAN_CHANGE_SLICES_BASE);
		sb_attr_url(b, "fgrey", s, BMEQ_SCAN_CHANGE_SLICES);
		sb_attr_url(b, "fov", s, BMEQ_SCAN_CHANGE_SLICES_FU);
	} else {
		sb_puts(b, "\"");
		sb_attr_url(b, "grey", s, BMEQ_SCAN_SLICES);
		sb_attr_url(b, "roi", s, BMEQ_SCAN_SLICES_ROI);
		sb_attr_url(b, "ov", s, BMEQ_SCAN_SLICES_EDEMA);
		if (g->t1)
			sb_attr_url(b, "t1", s, BMEQ_SCAN_SLICES_T1);
	}
	sb_printf(b, ">%s</button>",
		  change ? "all slices vs baseline" : g->t1 ? "all slices, STIR and T1" : "all slices");
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
			sb_puts(b, k ? ": change vs baseline" : s->t1 ? ": scan, T1 beside it" : ": scan");
			view_button(b, v, first + i, k);
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

/* The study figures (figures.c wrote them into OUT/figures/): the SVG shown,
 * the PNG linked for papers and slides. */
static void figure(sbuf *b, const char *outdir, bmeq_out_figure f, int visit, const char *caption)
{
	char path[BMEQ_PATH_MAX], svg[64], png[64];

	if (bmeq_out_figure_path(outdir, f, visit, "svg", path, sizeof(path), svg, sizeof(svg)) !=
		    BMEQ_OK ||
	    bmeq_out_figure_path(outdir, f, visit, "png", path, sizeof(path), png, sizeof(png)) !=
		    BMEQ_OK)
		return;
	sb_puts(b, "<figure class=\"study-figure\"><img loading=\"lazy\" width=\"760\" height=\"400\" src=\"");
	sb_url_seg(b, bmeq_out_name(BMEQ_OUT_FIGURES));
	sb_puts(b, "/");
	sb_url_seg(b, svg);
	sb_puts(b, "\" alt=\"");
	sb_esc(b, caption);
	sb_puts(b, "\"><figcaption>");
	sb_esc(b, caption);
	sb_puts(b, " (<a href=\"");
	sb_url_seg(b, bmeq_out_name(BMEQ_OUT_FIGURES));
	sb_puts(b, "/");
	sb_url_seg(b, png);
	sb_puts(b, "\">PNG</a>)</figcaption></figure>");
}

static void figures_section(sbuf *b, const char *outdir, const bmeq_rp_figures_made *figs)
{
	char cap[96];

	sb_puts(b, "<section id=\"figures\"><h2>Study figures</h2>");
	if (!figs->ok) {
		sb_puts(b, "<p class=\"note\">The figures could not be drawn.</p></section>\n");
		return;
	}
	sb_puts(b, "<p class=\"note\">Visit 0 is each subject's baseline, visit K its K-th "
		   "follow-up; per visit counts, medians and quartiles are in "
		   "<a href=\"study_summary.csv\">study_summary.csv</a>. The figures are in the "
		   "folder figures/ as SVG and PNG.</p><div class=\"charts\">");
	for (int k = 1; k <= figs->followups; k++) {
		snprintf(cap, sizeof(cap), "Waterfall: %% change per hip, follow-up %d vs baseline", k);
		figure(b, outdir, BMEQ_FIG_WATERFALL, k, cap);
	}
	figure(b, outdir, BMEQ_FIG_EDEMA_COURSE, 0, "Edema per hip over the visits");
	if (figs->followups > 0)
		figure(b, outdir, BMEQ_FIG_RESPONSE_COUNTS, 0, "Response classes per follow-up");
	sb_puts(b, "</div></section>\n");
}

bmeq_status bmeq_rp_html(const char *outdir, const bmeq_rp_scan *v, size_t n,
			 const bmeq_rp_figures_made *figs, bmeq_report_summary *sum)
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

	figures_section(&b, outdir, figs);
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
	sb_puts(&b, "<div id=\"viewer\" hidden tabindex=\"-1\" role=\"dialog\" aria-label=\"slice viewer\">"
		    "<div><b id=\"v-title\"></b> <button type=\"button\" id=\"v-close\">close (Esc)</button></div>"
		    "<div>slice <input type=\"range\" id=\"v-slider\" min=\"0\" max=\"0\" value=\"0\" "
		    "aria-label=\"slice\"> <span id=\"v-label\"></span> &nbsp; "
		    "<label><input type=\"checkbox\" id=\"v-roi\" checked> regions</label> "
		    "<label><input type=\"checkbox\" id=\"v-edema\" checked> edema / change</label> "
		    "&nbsp; opacity <input type=\"range\" id=\"v-opacity\" min=\"0\" max=\"100\" "
		    "value=\"55\" aria-label=\"overlay opacity\"></div>"
		    "<div class=\"vpanes\"><figure><canvas id=\"v-c0\"></canvas><figcaption id=\"v-cap0\">"
		    "</figcaption></figure><figure id=\"v-f1\" hidden><canvas id=\"v-c1\"></canvas>"
		    "<figcaption id=\"v-cap1\"></figcaption></figure></div>"
		    "<p class=\"note\">Radiological display: the patient's right on the left, superior up; "
		    "coronal slices, anterior first. Wheel, arrow keys or the slider move through the "
		    "slices. <span id=\"v-legend\"></span></p></div>\n");
	sb_puts(&b, "<script>");
	sb_puts(&b, script);
	sb_puts(&b, review_script);
	sb_puts(&b, viewer_script);
	sb_puts(&b, viewer_script2);
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
