import { createRequire as __ottrCreateRequire } from 'node:module'; import { dirname as __ottrDirname } from 'node:path'; import { fileURLToPath as __ottrFileUrlToPath } from 'node:url'; const require = __ottrCreateRequire(import.meta.url); const __filename = __ottrFileUrlToPath(import.meta.url); const __dirname = __ottrDirname(__filename);
import{expiryGantt,markdownCell}from"./chunk-DN2JRPLQ.mjs";import{dueStatus,isoInstant}from"./chunk-K6O4CJ43.mjs";import{formatDuration}from"./chunk-IUOTGP64.mjs";import{init_define_OTTR_BUILD,init_define_OTTR_COMMAND_DOCS}from"./chunk-RWS3QTEB.mjs";init_define_OTTR_BUILD();init_define_OTTR_COMMAND_DOCS();var DEVICE_STATES=["expired","never_rotated","due","expiring","ok","invalid","no_route"];function stateLabel(state){return state.replace("_"," ")}function isDueState(state){return state==="expired"||state==="never_rotated"||state==="due"}var DEFAULT_EXPIRING_WITHIN_MS=14*864e5;function emptyCounts(){return{expired:0,never_rotated:0,due:0,expiring:0,ok:0,invalid:0,no_route:0}}function countStates(rows){let counts=emptyCounts();for(let row of rows)counts[row.state]++;return counts}function dataCenterOfFile(file){let parts=file.split("/");return parts.length>=3?parts[parts.length-2]:""}function normalisedInstant(text){if(text===void 0)return{ms:Number.NaN};let ms=Date.parse(text);return Number.isFinite(ms)?{iso:isoInstant(ms),ms}:{iso:text,ms}}function rankRecord(record,settings,now,windowMs){let device=record.device;if(!device){let noRoute=record.no_route!==void 0;return{row:{system_name:record.system_name,file:record.file,data_center:dataCenterOfFile(record.file),state:noRoute?"no_route":"invalid",reason:(noRoute?record.no_route:record.first_error)??"invalid device file",due:!1},key:Number.POSITIVE_INFINITY}}let nowMs=now.getTime(),authority=settings?.authorities[device.certificate_authority],status=dueStatus(device,authority,now,!1),cert=device.certificate,notAfter=normalisedInstant(cert?.not_after),row={system_name:device.system_name,file:record.file,data_center:device.data_center,state:"ok",reason:status.reason,due:status.due,platform:device.host_platform,authority:device.certificate_authority,common_name:device.common_name};record.route&&(row.driver=record.route.platform,row.route=record.route.name),device.subject_alternative_names&&(row.subject_alternative_names=device.subject_alternative_names),device.owner!==void 0&&(row.owner=device.owner),device.labels&&(row.labels=device.labels);let notBefore=normalisedInstant(cert?.not_before);notBefore.iso!==void 0&&(row.not_before=notBefore.iso),notAfter.iso!==void 0&&(row.not_after=notAfter.iso),Number.isFinite(notAfter.ms)&&(row.days_left=Math.round((notAfter.ms-nowMs)/864e5*10)/10),status.renew_at!==void 0&&(row.renewal_start=status.renew_at);let rotatedAt=normalisedInstant(cert?.rotated_at);rotatedAt.iso!==void 0&&(row.rotated_at=rotatedAt.iso),record.route?cert?Number.isFinite(notAfter.ms)&&nowMs>=notAfter.ms?row.state="expired":status.due?row.state="due":Number.isFinite(notAfter.ms)&&notAfter.ms-nowMs<=windowMs&&(row.state="expiring"):row.state="never_rotated":(row.state="no_route",row.reason="routing rules not checked (routing/routes.yaml has errors)",row.due=!1);let key=status.due?status.urgency:Number.isFinite(notAfter.ms)?notAfter.ms:Number.MAX_VALUE;return{row,key}}function searchText(row){let parts=[row.system_name,row.common_name??"",row.owner??""];return row.subject_alternative_names&&parts.push(...row.subject_alternative_names),row.labels&&parts.push(...Object.values(row.labels)),parts.join(`
`).toLowerCase()}function keep(row,filters,nowMs,search){if(filters.dataCenter!==void 0&&row.data_center!==filters.dataCenter)return!1;if(filters.platform!==void 0){let wanted=filters.platform.toLowerCase();if(row.platform?.toLowerCase()!==wanted&&row.driver?.toLowerCase()!==wanted)return!1}if(filters.dueOnly&&!isDueState(row.state))return!1;if(filters.expiringWithinMs!==void 0){let notAfter=row.not_after===void 0?Number.NaN:Date.parse(row.not_after);if(!Number.isFinite(notAfter)||notAfter-nowMs>filters.expiringWithinMs)return!1}return!(search!==void 0&&!searchText(row).includes(search))}function fleetStatus(records,settings,now,filters={}){let windowMs=filters.expiringWithinMs??DEFAULT_EXPIRING_WITHIN_MS,nowMs=now.getTime(),search=filters.search?.trim().toLowerCase()||void 0,ranked=[];for(let record of records){let entry=rankRecord(record,settings,now,windowMs);keep(entry.row,filters,nowMs,search)&&ranked.push(entry)}ranked.sort((a,b)=>a.key-b.key||(a.row.system_name<b.row.system_name?-1:a.row.system_name>b.row.system_name?1:0));let rows=ranked.map(r=>r.row);return{generated_at:isoInstant(nowMs),expiring_within_ms:windowMs,rows,counts:countStates(rows),total:records.length}}function filterVocabulary(records){let dataCenters=new Set,platforms=new Set;for(let record of records)dataCenters.add(record.device?.data_center??dataCenterOfFile(record.file)),record.device&&platforms.add(record.device.host_platform),record.route&&platforms.add(record.route.platform);return{dataCenters,platforms}}init_define_OTTR_BUILD();init_define_OTTR_COMMAND_DOCS();var MARKERS={expired:"!",never_rotated:"~",due:"~",expiring:"~",ok:" ",invalid:"?",no_route:"?"},COLOURS={expired:"\x1B[31m",never_rotated:"\x1B[33m",due:"\x1B[33m",expiring:"\x1B[33m",invalid:"\x1B[35m",no_route:"\x1B[35m"},RESET="\x1B[0m";function noteOf(row){return row.state==="ok"?"":row.state==="invalid"||row.state==="no_route"?`${row.file}: ${row.reason}`:row.reason}function date(iso){return iso===void 0?"-":iso.slice(0,10)}function countsText(counts,expiringWithinMs){return DEVICE_STATES.map(state=>state==="expiring"?`${counts.expiring} expiring within ${formatDuration(expiringWithinMs)}`:state==="no_route"?`${counts.no_route} without route`:`${counts[state]} ${stateLabel(state)}`).join(", ")}function statusText(status,options={}){let lines=[`Fleet status at ${status.generated_at}`,""];if(status.rows.length===0)lines.push("No device matches the filters.");else{let table=[["","DEVICE","STATE","DAYS LEFT","EXPIRES","RENEWS FROM","LAST ROTATION","DC","PLATFORM","ROUTE","NOTE"],...status.rows.map(row=>[MARKERS[row.state],row.system_name,stateLabel(row.state),row.days_left===void 0?"-":row.days_left.toFixed(1),date(row.not_after),date(row.renewal_start),date(row.rotated_at),row.data_center||"-",row.platform??"-",row.route??"-",noteOf(row)])],widths=[];for(let cells of table)for(let i=0;i<cells.length-1;i++)widths[i]=Math.max(widths[i]??0,cells[i].length);table.forEach((cells,index)=>{let line=cells.map((cell,i)=>i===cells.length-1?cell:i===3?cell.padStart(widths[i]):cell.padEnd(widths[i])).join("  ").trimEnd(),colour=index>0&&options.colour?COLOURS[status.rows[index-1].state]:void 0;lines.push(colour?`${colour}${line}${RESET}`:line)})}lines.push("");let shown=status.rows.length===status.total?`${status.total} device${status.total===1?"":"s"}`:`${status.rows.length} of ${status.total} devices shown`;return lines.push(`${shown}: ${countsText(status.counts,status.expiring_within_ms)}`),status.rows.some(row=>row.state!=="ok")&&lines.push("(! expired, ~ due, never rotated or expiring soon, ? invalid file or no routing rule)"),`${lines.join(`
`)}
`}init_define_OTTR_BUILD();init_define_OTTR_COMMAND_DOCS();import{createHash}from"node:crypto";var DASHBOARD_FILE="index.html",ESCAPES={"&":"&amp;","<":"&lt;",">":"&gt;",'"':"&quot;","'":"&#39;"};function escapeHtml(text){return text.replace(/[&<>"']/g,ch=>ESCAPES[ch])}function jsonForScript(value){return JSON.stringify(value).replace(/</g,"\\u003c").replace(/\u2028/g,"\\u2028").replace(/\u2029/g,"\\u2029")}function cspHash(text){return`'sha256-${createHash("sha256").update(text,"utf8").digest("base64")}'`}function day(iso){return iso===void 0?"\u2014":iso.slice(0,10)}var STYLE=`
:root { color-scheme: light dark; --bg: #f7f7f9; --fg: #1d1f24; --muted: #6b7280; --card: #fff; --line: #e3e5ea;
  --expired: #c62828; --due: #d97706; --never_rotated: #b45309; --expiring: #ca8a04; --ok: #15803d;
  --invalid: #7c3aed; --no_route: #6b7280; --today: #2563eb; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #15171c; --fg: #e6e8ee; --muted: #9aa1ad; --card: #1f2229; --line: #323743; }
}
* { box-sizing: border-box; }
body { margin: 0; padding: 24px; background: var(--bg); color: var(--fg);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
h1 { margin: 0 0 4px; font-size: 22px; }
h2 { font-size: 16px; margin: 28px 0 10px; }
.meta { color: var(--muted); margin: 0; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin-top: 20px; }
.card { background: var(--card); border: 1px solid var(--line); border-top: 4px solid var(--muted);
  border-radius: 8px; padding: 10px 16px; min-width: 120px; }
.card .count { display: block; font-size: 26px; font-weight: 600; }
.card .label { color: var(--muted); }
.card.zero { opacity: .55; }
.card.state-expired { border-top-color: var(--expired); }
.card.state-never_rotated { border-top-color: var(--never_rotated); }
.card.state-due { border-top-color: var(--due); }
.card.state-expiring { border-top-color: var(--expiring); }
.card.state-ok { border-top-color: var(--ok); }
.card.state-invalid { border-top-color: var(--invalid); }
.card.state-no_route { border-top-color: var(--no_route); }
.panel { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px; overflow-x: auto; }
svg.timeline { width: 100%; min-width: 720px; height: auto; display: block; font-size: 11px; }
svg .band { fill: var(--bg); }
svg .grid { stroke: var(--line); }
svg .axis-label, svg .group-label { fill: var(--muted); }
svg .group-label { fill: var(--fg); }
svg .today { stroke: var(--today); stroke-width: 2; }
svg .today-label { fill: var(--today); font-weight: 600; }
.expiry-mark { stroke: var(--card); stroke-width: 1; }
.expiry-mark.dim { opacity: .12; }
.state-expired.expiry-mark { fill: var(--expired); }
.state-never_rotated.expiry-mark { fill: var(--never_rotated); }
.state-due.expiry-mark { fill: var(--due); }
.state-expiring.expiry-mark { fill: var(--expiring); }
.state-ok.expiry-mark { fill: var(--ok); }
.state-invalid.expiry-mark { fill: var(--invalid); }
.state-no_route.expiry-mark { fill: var(--no_route); }
.legend { color: var(--muted); margin: 8px 0 0; }
.toolbar { display: flex; gap: 12px; align-items: center; margin-bottom: 10px; }
#search { font: inherit; padding: 6px 10px; width: min(420px, 100%); border: 1px solid var(--line);
  border-radius: 6px; background: var(--card); color: var(--fg); }
#shown { color: var(--muted); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.date { white-space: nowrap; font-variant-numeric: tabular-nums; }
td:first-child { white-space: nowrap; }
td .sub { color: var(--muted); font-size: 12px; }
tr.row-expired td:first-child { box-shadow: inset 4px 0 var(--expired); }
tr.row-expired { background: color-mix(in srgb, var(--expired) 8%, transparent); }
tr.row-expiring td:first-child, tr.row-due td:first-child, tr.row-never_rotated td:first-child {
  box-shadow: inset 4px 0 var(--expiring); }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; color: #fff; font-size: 12px;
  font-weight: 600; white-space: nowrap; }
.badge.state-expired { background: var(--expired); }
.badge.state-never_rotated { background: var(--never_rotated); }
.badge.state-due { background: var(--due); }
.badge.state-expiring { background: var(--expiring); }
.badge.state-ok { background: var(--ok); }
.badge.state-invalid { background: var(--invalid); }
.badge.state-no_route { background: var(--no_route); }
`,SCRIPT=`
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('ottr-data').textContent);
  var input = document.getElementById('search');
  var shown = document.getElementById('shown');
  var noMatch = document.getElementById('no-match');
  var rows = Array.prototype.slice.call(document.querySelectorAll('#devices tbody tr[data-i]'));
  var marks = Array.prototype.slice.call(document.querySelectorAll('.expiry-mark'));
  var haystacks = rows.map(function (row) {
    var device = data.devices[Number(row.getAttribute('data-i'))] || {};
    var labels = device.labels || {};
    var extra = [device.file || '', device.driver || '', device.authority || '']
      .concat(device.subject_alternative_names || [])
      .concat(Object.keys(labels).map(function (key) { return key + ' ' + labels[key]; }));
    return (row.textContent + ' ' + extra.join(' ')).toLowerCase();
  });
  function apply() {
    var terms = input.value.toLowerCase().split(/\\s+/).filter(Boolean);
    var visible = {};
    var count = 0;
    rows.forEach(function (row, k) {
      var match = terms.every(function (term) { return haystacks[k].indexOf(term) !== -1; });
      row.hidden = !match;
      if (match) { visible[row.getAttribute('data-i')] = true; count++; }
    });
    marks.forEach(function (mark) {
      mark.classList.toggle('dim', terms.length > 0 && !visible[mark.getAttribute('data-i')]);
    });
    shown.textContent = count + ' of ' + rows.length + ' devices shown';
    noMatch.hidden = count > 0 || rows.length === 0;
  }
  input.addEventListener('input', apply);
  document.addEventListener('keydown', function (event) {
    if (event.key === '/' && document.activeElement !== input) { event.preventDefault(); input.focus(); }
  });
  apply();
})();
`,TIMELINE={width:1e3,labelWidth:190,right:20,axis:28,lane:12,padding:10,maxLanes:8};function monthTicks(fromMs,toMs){let from=new Date(fromMs),months=(new Date(toMs).getUTCFullYear()-from.getUTCFullYear())*12+new Date(toMs).getUTCMonth()-from.getUTCMonth(),step=Math.max(1,Math.ceil(months/10)),ticks=[];for(let m=1;m<=months;m+=step)ticks.push(Date.UTC(from.getUTCFullYear(),from.getUTCMonth()+m,1));return ticks}function assignLanes(xs,gap,maxLanes){let lastX=[];return{lanes:xs.map(x=>{let lane=lastX.findIndex(last=>x-last>=gap);return lane===-1&&(lastX.length<maxLanes?lane=lastX.length:lane=lastX.indexOf(Math.min(...lastX))),lastX[lane]=x,lane}),used:Math.max(1,lastX.length)}}function timelineSvg(rows,nowMs){let dated=[];rows.forEach((row,index)=>{let notAfter=row.not_after===void 0?Number.NaN:Date.parse(row.not_after);Number.isFinite(notAfter)&&dated.push({row,index,notAfter})});let undated=rows.length-dated.length;if(dated.length===0)return{svg:"",undated};let min=nowMs,max=nowMs;for(let d of dated)d.notAfter<min&&(min=d.notAfter),d.notAfter>max&&(max=d.notAfter);let pad=Math.max(2*864e5,(max-min)*.04);min-=pad,max+=pad;let{width,labelWidth,right,axis,lane,padding,maxLanes}=TIMELINE,plotWidth=width-labelWidth-right,x=ms=>labelWidth+(ms-min)/(max-min)*plotWidth,r=n=>Math.round(n*10)/10,groups=new Map;for(let d of dated){let platform=d.row.platform??"\u2014",key=`${d.row.data_center}\0${platform}`,group=groups.get(key);group||(group={dc:d.row.data_center,platform,items:[]},groups.set(key,group)),group.items.push(d)}let ordered=[...groups.values()].sort((a,b)=>a.dc===b.dc?a.platform<b.platform?-1:1:a.dc<b.dc?-1:1),body=[],y=axis;ordered.forEach((group,g)=>{group.items.sort((a,b)=>a.notAfter-b.notAfter);let xs=group.items.map(d=>x(d.notAfter)),{lanes,used}=assignLanes(xs,11,maxLanes),height=used*lane+padding*2;g%2===0&&body.push(`<rect class="band" x="0" y="${y}" width="${width}" height="${height}"/>`);let label=`${group.dc||"\u2014"} \xB7 ${group.platform}`,shortLabel=label.length>28?`${label.slice(0,27)}\u2026`:label;body.push(`<text class="group-label" x="8" y="${y+padding+9}"><title>${escapeHtml(label)} (${group.items.length})</title>${escapeHtml(shortLabel)}</text>`),group.items.forEach((d,k)=>{let cy=y+padding+lanes[k]*lane+lane/2,days=d.row.days_left,left=days===void 0?"":days<0?`, expired ${-days} days ago`:`, ${days} days left`,title=`${d.row.system_name} \u2014 expires ${day(d.row.not_after)} (${stateLabel(d.row.state)}${left})`;body.push(`<circle class="expiry-mark state-${d.row.state}" data-i="${d.index}" cx="${r(xs[k])}" cy="${cy}" r="5"><title>${escapeHtml(title)}</title></circle>`)}),y+=height});let axisLines=[];for(let tick of monthTicks(min,max)){let tx=r(x(tick));axisLines.push(`<line class="grid" x1="${tx}" y1="${axis-6}" x2="${tx}" y2="${y}"/>`,`<text class="axis-label" x="${tx+3}" y="${axis-10}">${new Date(tick).toISOString().slice(0,7)}</text>`)}let todayX=r(x(nowMs)),today=[`<line class="today" x1="${todayX}" y1="${axis-22}" x2="${todayX}" y2="${y}"/>`,`<text class="today-label" x="${todayX+4}" y="${axis-18}">today</text>`];return{svg:[`<svg class="timeline" viewBox="0 0 ${width} ${y+4}" role="img" aria-label="Certificate expiries by data center and platform">`,...body,...axisLines,...today,"</svg>"].join(`
`),undated}}function tableRow(row,index){let sub=row.state==="invalid"||row.state==="no_route"?row.file:row.common_name??"",cells=[`<td>${escapeHtml(row.system_name)}${sub?`<div class="sub">${escapeHtml(sub)}</div>`:""}</td>`,`<td><span class="badge state-${row.state}">${stateLabel(row.state)}</span></td>`,`<td class="num">${row.days_left===void 0?"\u2014":row.days_left.toFixed(1)}</td>`,`<td class="date">${escapeHtml(day(row.not_after))}</td>`,`<td class="date">${escapeHtml(day(row.renewal_start))}</td>`,`<td class="date">${escapeHtml(day(row.rotated_at))}</td>`,`<td>${escapeHtml(row.data_center||"\u2014")}</td>`,`<td>${escapeHtml(row.platform??"\u2014")}</td>`,`<td>${escapeHtml(row.route??"\u2014")}</td>`,`<td>${escapeHtml(row.owner??"")}</td>`,`<td>${escapeHtml(row.state==="invalid"||row.state==="no_route"?row.reason:noteOf(row))}</td>`];return`<tr class="row-${row.state}" data-i="${index}" data-state="${row.state}">${cells.join("")}</tr>`}function renderDashboard(rows,options){let nowMs=new Date(options.generatedAt).getTime(),generatedAt=Number.isFinite(nowMs)?isoInstant(nowMs):String(options.generatedAt),title=options.title??"Ottr fleet status",counts=countStates(rows),embedded={generated_at:generatedAt,counts,devices:[...rows]},cards=[`<div class="card total"><span class="count" id="count-total">${rows.length}</span><span class="label">devices</span></div>`,...DEVICE_STATES.map(state=>`<div class="card state-${state}${counts[state]===0?" zero":""}" data-state="${state}"><span class="count">${counts[state]}</span><span class="label">${stateLabel(state)}</span></div>`)],timeline=timelineSvg(rows,Number.isFinite(nowMs)?nowMs:Date.now()),timelineNote=timeline.undated>0?`<p class="legend">${timeline.undated} device${timeline.undated===1?" has":"s have"} no recorded expiry and ${timeline.undated===1?"is":"are"} not on the timeline.</p>`:"",headers=["Device","State","Days left","Expires","Renews from","Last rotation","Data center","Platform","Route","Owner","Note"];return`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${["default-src 'none'",`script-src ${cspHash(SCRIPT)}`,`style-src ${cspHash(STYLE)}`,"img-src data:","base-uri 'none'","form-action 'none'"].join("; ")}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="ottr status">
<title>${escapeHtml(title)}</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${escapeHtml(title)}</h1>
<p class="meta">Generated ${escapeHtml(generatedAt)} \xB7 ${rows.length} device${rows.length===1?"":"s"}</p>
</header>
<section class="cards" aria-label="Devices by state">
${cards.join(`
`)}
</section>
<h2>Expiries by data center and platform</h2>
<div class="panel">
${timeline.svg||'<p class="legend">No device has a recorded expiry.</p>'}
${timelineNote}
</div>
<h2>Devices</h2>
<div class="toolbar">
<input type="search" id="search" placeholder="Search names, owners, labels\u2026 (press /)" aria-label="Search devices" autocomplete="off" spellcheck="false">
<span id="shown" aria-live="polite">${rows.length} of ${rows.length} devices shown</span>
</div>
<div class="panel">
<table id="devices">
<thead><tr>${headers.map(h=>`<th scope="col">${h}</th>`).join("")}</tr></thead>
<tbody>
${rows.map(tableRow).join(`
`)}
</tbody>
</table>
<p id="no-match" class="legend" hidden>No device matches the search.</p>
</div>
<script type="application/json" id="ottr-data">${jsonForScript(embedded)}</script>
<script>${SCRIPT}</script>
</body>
</html>
`}init_define_OTTR_BUILD();init_define_OTTR_COMMAND_DOCS();function statusDocument(status){return{generated_at:status.generated_at,expiring_within:formatDuration(status.expiring_within_ms),inventory_devices:status.total,counts:status.counts,devices:status.rows}}function statusJson(status){return`${JSON.stringify(statusDocument(status),null,2)}
`}init_define_OTTR_BUILD();init_define_OTTR_COMMAND_DOCS();var STATE_MARK={expired:"\u{1F534} ",never_rotated:"\u{1F7E0} ",due:"\u{1F7E0} ",expiring:"\u{1F7E1} ",invalid:"\u26A0\uFE0F ",no_route:"\u26A0\uFE0F "};function dateCell(iso){return iso===void 0?"\u2014":markdownCell(iso.slice(0,10))}function gantt(rows,limit){if(limit<=0)return[];let dated=[];for(let row of rows){let notAfter=row.not_after===void 0?Number.NaN:Date.parse(row.not_after);Number.isFinite(notAfter)&&dated.push({row,notAfter})}if(dated.length===0)return[];dated.sort((a,b)=>a.notAfter-b.notAfter);let chosen=dated.slice(0,limit),lines=expiryGantt(chosen.map(({row,notAfter})=>{let startText=row.renewal_start??row.not_before;return{section:row.data_center,name:row.system_name,start:startText===void 0?Number.NaN:Date.parse(startText),notAfter,tag:isDueState(row.state)?"crit":row.state==="expiring"?"active":""}}));return dated.length>chosen.length&&lines.push("",`The chart shows the ${chosen.length} soonest of ${dated.length} recorded expiries.`),lines}function statusMarkdown(status,options={}){let lines=[`## ${options.title??"Ottr fleet status"}`,""],shown=status.rows.length===status.total?`${status.total} devices`:`${status.rows.length} of ${status.total} devices`;if(lines.push(`**${shown}: ${countsText(status.counts,status.expiring_within_ms)}** \u2014 as of ${status.generated_at}`),lines.push(""),status.rows.length===0)return lines.push("No device matches the filters."),`${lines.join(`
`)}
`;let headers=["Device","State","Days left","Expires","Renews from","Last rotation","Data center","Platform","Route","Note"];lines.push(`| ${headers.join(" | ")} |`,`|${headers.map(()=>"---").join("|")}|`);for(let row of status.rows){let cells=[markdownCell(row.system_name),`${STATE_MARK[row.state]??""}${stateLabel(row.state)}`,row.days_left===void 0?"\u2014":row.days_left.toFixed(1),dateCell(row.not_after),dateCell(row.renewal_start),dateCell(row.rotated_at),markdownCell(row.data_center),markdownCell(row.platform??"\u2014"),markdownCell(row.route??"\u2014"),markdownCell(noteOf(row))];lines.push(`| ${cells.join(" | ")} |`)}let chart=gantt(status.rows,options.ganttDevices??40);return chart.length>0&&lines.push("","### Expiry timeline","",...chart),`${lines.join(`
`)}
`}init_define_OTTR_BUILD();init_define_OTTR_COMMAND_DOCS();function seconds(iso){if(iso===void 0)return;let ms=Date.parse(iso);return Number.isFinite(ms)?ms/1e3:void 0}var DEVICE_METRICS=[{name:"ottr_certificate_expiry_timestamp_seconds",help:"The recorded certificate's not_after, in seconds since the Unix epoch.",value:row=>seconds(row.not_after)},{name:"ottr_certificate_renewal_window_start_timestamp_seconds",help:"When the certificate becomes due for rotation (ARI window start or renew_before), in seconds since the Unix epoch.",value:row=>seconds(row.renewal_start)},{name:"ottr_certificate_last_rotation_timestamp_seconds",help:"When the certificate was last rotated (certificate.rotated_at), in seconds since the Unix epoch.",value:row=>seconds(row.rotated_at)},{name:"ottr_certificate_due",help:"1 when the next scheduled run rotates the device (due, expired or never rotated), else 0.",value:row=>row.state==="invalid"||row.state==="no_route"?void 0:row.due?1:0}];function escapeLabelValue(text){return text.replace(/\\/g,"\\\\").replace(/"/g,'\\"').replace(/\n/g,"\\n")}function labels(pairs){return`{${pairs.map(([name,value])=>`${name}="${escapeLabelValue(value)}"`).join(",")}}`}function deviceLabels(row){return labels([["system_name",row.system_name],["data_center",row.data_center],["platform",row.platform??""],["authority",row.authority??""],["route",row.route??""]])}function formatValue(value){return Number.isNaN(value)?"NaN":value===Number.POSITIVE_INFINITY?"+Inf":value===Number.NEGATIVE_INFINITY?"-Inf":String(value)}function statusPrometheus(status){let lines=[],deviceLabelText=status.rows.map(deviceLabels);for(let metric of DEVICE_METRICS)lines.push(`# HELP ${metric.name} ${metric.help}`,`# TYPE ${metric.name} gauge`),status.rows.forEach((row,i)=>{let value=metric.value(row);value!==void 0&&lines.push(`${metric.name}${deviceLabelText[i]} ${formatValue(value)}`)});return lines.push("# HELP ottr_device_state 1 for the state each device is in (expired, never_rotated, due, expiring, ok, invalid, no_route).","# TYPE ottr_device_state gauge"),status.rows.forEach((row,i)=>{lines.push(`ottr_device_state${deviceLabelText[i].slice(0,-1)},state="${row.state}"} 1`)}),lines.push("# HELP ottr_devices Devices in the report by state.","# TYPE ottr_devices gauge",...DEVICE_STATES.map(state=>`ottr_devices${labels([["state",state]])} ${status.counts[state]}`)),`${lines.join(`
`)}
`}export{fleetStatus,filterVocabulary,statusText,DASHBOARD_FILE,renderDashboard,statusJson,statusMarkdown,statusPrometheus};
