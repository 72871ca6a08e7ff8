
(function(){
  var el = document.getElementById('ops'); if (!el) return;
  var ops = JSON.parse(el.textContent), PAGE = 200, page = 0, rows = ops;
  var names = ['ok','fail','info'], colors = ['#2a9d4a','#d63a3a','#e09a10'];
  function fill(id, vals){ var s = document.getElementById(id); vals.forEach(function(v){ var o = document.createElement('option'); o.value = v; o.textContent = v; s.appendChild(o); }); }
  fill('fnode', Array.from(new Set(ops.map(function(o){return o[3];}))).sort());
  fill('ff', Array.from(new Set(ops.map(function(o){return o[4];}))).sort());
  function apply(){
    var n = document.getElementById('fnode').value, f = document.getElementById('ff').value, out = document.getElementById('fout').value;
    rows = ops.filter(function(o){ return (!n || o[3] === n) && (!f || o[4] === f) && (out === '' || String(o[6]) === out); });
    page = 0; draw();
  }
  function draw(){
    var pages = Math.max(1, Math.ceil(rows.length / PAGE)); page = Math.min(page, pages - 1);
    document.getElementById('page').textContent = 'page ' + (page + 1) + ' / ' + pages + ' (' + rows.length + ' ops)';
    var slice = rows.slice(page * PAGE, (page + 1) * PAGE), tb = document.querySelector('#optable tbody');
    tb.textContent = '';
    slice.forEach(function(o){
      var tr = document.createElement('tr');
      [o[0].toFixed(3), ((o[1]-o[0])*1000).toFixed(1), o[2], o[3], o[4], o[5], names[o[6]], o[7]].forEach(function(v){ var td = document.createElement('td'); td.textContent = String(v); tr.appendChild(td); });
      tr.className = names[o[6]]; tb.appendChild(tr);
    });
    var c = document.getElementById('lanes'), g = c.getContext('2d'); g.clearRect(0,0,c.width,c.height);
    if (!slice.length) return;
    var t0 = Math.min.apply(null, slice.map(function(o){return o[0];})), t1 = Math.max.apply(null, slice.map(function(o){return o[1];}));
    var procs = Array.from(new Set(slice.map(function(o){return o[2];}))).sort(function(a,b){return a-b;});
    var lh = Math.max(3, Math.min(18, (c.height - 10) / procs.length));
    slice.forEach(function(o){
      var x = 40 + (o[0]-t0)/(t1-t0||1)*(c.width-50), w = Math.max(1, (o[1]-o[0])/(t1-t0||1)*(c.width-50));
      var y = 5 + procs.indexOf(o[2]) * lh; g.fillStyle = colors[o[6]]; g.fillRect(x, y, w, lh - 2);
    });
    g.fillStyle = '#333'; g.font = '10px sans-serif';
    procs.forEach(function(p, i){ g.fillText('p' + p, 2, 5 + i * lh + lh - 3); });
  }
  ['fnode','ff','fout'].forEach(function(id){ document.getElementById(id).addEventListener('change', apply); });
  document.getElementById('prev').addEventListener('click', function(){ if (page > 0) { page--; draw(); } });
  document.getElementById('next').addEventListener('click', function(){ page++; draw(); });
  apply();
})();
