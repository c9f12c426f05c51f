/* drive_viewer.js - appended by test_report_browser.sh to a copy of report.html, after the
 * page's own script, with MODE and KHEAD set: drives the every-slice viewer through its
 * controls and leaves what it did in attributes that the test reads from the DOM. */
(function(){
  var html = document.documentElement;
  /* Every image URL requested from now on (the viewer's mosaics). */
  var req = [], desc = Object.getOwnPropertyDescriptor(HTMLImageElement.prototype, 'src');
  Object.defineProperty(HTMLImageElement.prototype, 'src', {
    set: function(v){ req.push(v); html.setAttribute('data-requested', req.join(' '));
                      desc.set.call(this, v); },
    get: function(){ return desc.get.call(this); } });
  html.setAttribute('data-requested', '');
  if (MODE === 'none') return;
  var b = document.querySelector(MODE === 't1' ? 'button.view[data-t1]' :
    'button.view[data-kind="' + (MODE === 'change' ? 'change' : 'scan') + '"]');
  html.setAttribute('data-n', b.dataset.n);
  b.click();
  var sl = document.getElementById('v-slider');
  function slider(k){ sl.value = k; sl.dispatchEvent(new Event('input')); }
  function key(k){ document.dispatchEvent(new KeyboardEvent('keydown', {key: k, bubbles: true})); }
  if (MODE !== 't1') slider(MODE === 'slider' ? 2 : KHEAD); /* t1: the middle slice it opens at */
  if (MODE === 'keys') { key('ArrowUp'); key('ArrowUp'); }
  if (MODE === 'off') {
    ['v-roi', 'v-edema'].forEach(function(id){
      var c = document.getElementById(id); c.checked = false; c.dispatchEvent(new Event('change')); });
  }
  /* Where the panes are, for the screenshot. */
  ['v-c0', 'v-c1'].forEach(function(id){
    var c = document.getElementById(id), r = c.getBoundingClientRect();
    c.setAttribute('data-x', r.left); c.setAttribute('data-y', r.top);
    c.setAttribute('data-w', r.width); c.setAttribute('data-h', r.height); });
})();
