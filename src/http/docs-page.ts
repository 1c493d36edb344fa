/**
 * @module http/docs-page
 * The API reference page (`GET /docs`), rendered on the server from the OpenAPI document: plain
 * HTML and CSS, no script and nothing fetched from elsewhere, so it works on a machine without
 * internet access and under any Content-Security-Policy. The hosted reference UIs (Scalar,
 * Swagger UI) load their code from a CDN or bring a large dependency tree; this page shows what a
 * reader needs (operations by tag, auth, parameters, bodies and responses with their schemas) and
 * links to /openapi.json for tools.
 */

type Json = Record<string, unknown>;

const METHODS = ['get', 'head', 'post', 'put', 'patch', 'delete'] as const;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const html = (text: unknown): string =>
  String(text).replace(
    /[&<>"']/g,
    (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[ch] as string,
  );

/** Descriptions use `code` spans and blank-line paragraphs; nothing else of Markdown is needed. */
const inline = (text: unknown): string =>
  typeof text === 'string' ? html(text).replace(/`([^`]+)`/g, '<code>$1</code>') : '';

function prose(text: unknown): string {
  if (typeof text !== 'string' || !text) return '';
  return text
    .split(/\n\s*\n/)
    .map((paragraph) => `<p>${inline(paragraph)}</p>`)
    .join('');
}

const anchor = (text: string) => text.replace(/[^A-Za-z0-9_-]+/g, '-');
const refName = (ref: string) => ref.split('/').pop() ?? ref;

/** A one-line type label: `string (1-200 chars)`, `integer | null`, `Task`. */
function typeLabel(schema: Json): string {
  if (typeof schema.$ref === 'string') {
    const name = refName(schema.$ref);
    return `<a href="#schema-${anchor(name)}">${html(name)}</a>`;
  }
  if (schema.const !== undefined) return `<code>${html(JSON.stringify(schema.const))}</code>`;
  if (Array.isArray(schema.enum)) {
    return schema.enum.map((value) => `<code>${html(JSON.stringify(value))}</code>`).join(' | ');
  }
  const variants = (schema.anyOf ?? schema.oneOf) as Json[] | undefined;
  if (Array.isArray(variants)) return variants.filter(isObject).map(typeLabel).join(' | ');
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  const label = types
    .map((type) => {
      if (type === 'array' && isObject(schema.items)) return `array of ${typeLabel(schema.items)}`;
      return html(type);
    })
    .join(' | ');
  const limits: string[] = [];
  if (schema.format) limits.push(html(schema.format));
  if (schema.minLength !== undefined || schema.maxLength !== undefined)
    limits.push(`${schema.minLength ?? 0}-${schema.maxLength ?? '∞'} chars`);
  if (schema.minimum !== undefined || schema.maximum !== undefined)
    limits.push(`${schema.minimum ?? '−∞'}..${schema.maximum ?? '∞'}`);
  if (schema.pattern) limits.push(`pattern <code>${html(schema.pattern)}</code>`);
  if (schema.default !== undefined)
    limits.push(`default <code>${html(JSON.stringify(schema.default))}</code>`);
  return `${label || 'any'}${limits.length ? ` <span class="limits">(${limits.join(', ')})</span>` : ''}`;
}

/** An object's properties as a nested list; other schemas as their type label. */
function schemaHtml(schema: unknown, depth = 0): string {
  if (!isObject(schema)) return '<span class="limits">any</span>';
  const variants = (schema.oneOf ?? schema.anyOf) as unknown;
  if (Array.isArray(variants) && variants.some((v) => isObject(v) && isObject(v.properties)) && depth < 4) {
    return `<div>one of:</div><ol class="variants">${variants
      .map((variant) => `<li>${schemaHtml(variant, depth + 1)}</li>`)
      .join('')}</ol>`;
  }
  if (isObject(schema.properties) && depth < 6) {
    const required = new Set(Array.isArray(schema.required) ? schema.required : []);
    const rows = Object.entries(schema.properties).map(([name, property]) => {
      const prop = isObject(property) ? property : {};
      const nested =
        isObject(prop.properties) || (isObject(prop.items) && isObject(prop.items.properties))
          ? schemaHtml(isObject(prop.items) && !prop.properties ? prop.items : prop, depth + 1)
          : '';
      return `<li><code class="field">${html(name)}</code>${required.has(name) ? '' : '<span class="optional">optional</span>'} ${typeLabel(
        prop,
      )}${prop.description ? ` <span class="desc">${inline(prop.description)}</span>` : ''}${nested}</li>`;
    });
    const extra = schema.additionalProperties === false ? '<li class="limits">no other fields</li>' : '';
    return `<ul class="schema">${rows.join('')}${extra}</ul>`;
  }
  return `<span>${typeLabel(schema)}${schema.description ? ` <span class="desc">${inline(schema.description)}</span>` : ''}</span>`;
}

function contentHtml(content: unknown): string {
  if (!isObject(content)) return '';
  return Object.entries(content)
    .map(
      ([media, value]) =>
        `<div class="media"><span class="media-type">${html(media)}</span> ${
          isObject(value) && value.schema ? schemaHtml(value.schema) : ''
        }</div>`,
    )
    .join('');
}

function operationHtml(path: string, method: string, op: Json, publicByDefault: boolean): string {
  const id = `op-${method}-${anchor(path)}`;
  const parameters = Array.isArray(op.parameters) ? op.parameters.filter(isObject) : [];
  const isPublic = Array.isArray(op.security) ? op.security.length === 0 : publicByDefault;
  const requestBody = isObject(op.requestBody) ? op.requestBody : undefined;
  const responses = isObject(op.responses) ? Object.entries(op.responses) : [];
  return `<section class="operation" id="${id}">
<h3><span class="method ${method}">${method.toUpperCase()}</span> <code>${html(path)}</code> ${html(op.summary ?? '')}${
    isPublic ? ' <span class="public">no auth</span>' : ''
  }</h3>
${prose(op.description)}
${
  parameters.length
    ? `<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th>type</th><th></th></tr>${parameters
        .map(
          (p) =>
            `<tr><td><code>${html(p.name)}</code>${p.required ? '' : ' <span class="optional">optional</span>'}</td><td>${html(
              p.in,
            )}</td><td>${isObject(p.schema) ? typeLabel(p.schema) : ''}</td><td>${inline(p.description)}</td></tr>`,
        )
        .join('')}</table>`
    : ''
}
${requestBody ? `<h4>Request body</h4>${prose(requestBody.description)}${contentHtml(requestBody.content)}` : ''}
<h4>Responses</h4>
${responses
  .map(([status, response]) => {
    const r = isObject(response) ? response : {};
    return `<div class="response"><span class="status s${html(status)[0]}">${html(status)}</span> ${inline(
      r.description,
    )}${contentHtml(r.content)}</div>`;
  })
  .join('')}
</section>`;
}

const STYLE = `
body{font:15px/1.5 system-ui,sans-serif;margin:0;color:#1d2330;background:#fafbfc}
main{max-width:960px;margin:0 auto;padding:1.5rem}
nav{background:#fff;border:1px solid #dde2ea;border-radius:8px;padding:.5rem 1rem;margin:1rem 0}
nav ul{list-style:none;padding-left:0;margin:.25rem 0}
nav a{text-decoration:none}
h2{margin-top:2rem;border-bottom:1px solid #dde2ea}
code{font:13px ui-monospace,monospace;background:#eef1f5;padding:0 .25em;border-radius:3px}
.operation,.definition{background:#fff;border:1px solid #dde2ea;border-radius:8px;padding:.25rem 1rem 1rem;margin:1rem 0}
.method{display:inline-block;min-width:4.2em;text-align:center;font:bold 12px ui-monospace,monospace;color:#fff;border-radius:4px;padding:2px 4px}
.get{background:#2f7d32}.head{background:#4f6f52}.post{background:#1f5fbf}.patch{background:#a8660b}.delete{background:#b3261e}.put{background:#6b3fa0}
.public,.optional{font-size:11px;border-radius:3px;padding:0 .35em;margin-left:.35em}
.public{background:#e3f4e4;color:#205d22}.optional{background:#eef1f5;color:#5b6475}
.limits,.desc{color:#5b6475}
.schema{margin:.25rem 0;padding-left:1.2rem}
.media{margin-left:1.2rem}.media-type{font:12px ui-monospace,monospace;color:#5b6475}
.response{margin:.35rem 0}
.status{font:bold 13px ui-monospace,monospace;padding:0 .3em;border-radius:3px;background:#eef1f5}
.s2{color:#205d22}.s4{color:#a8660b}.s5{color:#b3261e}
table{border-collapse:collapse}td,th{border-bottom:1px solid #eef1f5;padding:.2rem .6rem;text-align:left;vertical-align:top}
`;

/** The whole page for `document` (an OpenAPI 3.1 document as /openapi.json serves it). */
export function renderReferencePage(document: object): string {
  const doc = document as Json;
  const info = isObject(doc.info) ? doc.info : {};
  const paths = isObject(doc.paths) ? doc.paths : {};
  const publicByDefault = !Array.isArray(doc.security) || doc.security.length === 0;
  const operations = Object.entries(paths).flatMap(([path, item]) =>
    METHODS.flatMap((method) => {
      const op = isObject(item) ? item[method] : undefined;
      return isObject(op) ? [{ path, method, op }] : [];
    }),
  );
  const tagNames = [
    ...(Array.isArray(doc.tags) ? doc.tags.filter(isObject).map((t) => String(t.name)) : []),
    ...operations.flatMap(({ op }) => (Array.isArray(op.tags) ? op.tags.map(String) : [])),
    'Other',
  ].filter((name, i, all) => all.indexOf(name) === i);
  const tagOf = (op: Json) => (Array.isArray(op.tags) && op.tags.length ? String(op.tags[0]) : 'Other');
  const groups = tagNames
    .map((tag) => ({
      tag,
      description: Array.isArray(doc.tags)
        ? doc.tags.filter(isObject).find((t) => t.name === tag)?.description
        : undefined,
      ops: operations.filter(({ op }) => tagOf(op) === tag),
    }))
    .filter((group) => group.ops.length > 0);
  const components = isObject(doc.components) ? doc.components : {};
  const schemas = isObject(components.schemas) ? Object.entries(components.schemas) : [];
  const schemes = isObject(components.securitySchemes) ? Object.entries(components.securitySchemes) : [];

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,"><title>${html(info.title ?? 'API')} API reference</title><style>${STYLE}</style></head>
<body><main>
<h1>${html(info.title ?? 'API')} <small class="limits">${html(info.version ?? '')} · OpenAPI ${html(
    doc.openapi ?? '',
  )} · <a href="/openapi.json">openapi.json</a></small></h1>
${prose(info.description)}
${
  schemes.length
    ? `<h2 id="auth">Authentication</h2><ul>${schemes
        .map(([name, scheme]) => {
          const s = isObject(scheme) ? scheme : {};
          const how =
            s.type === 'http'
              ? `<code>Authorization: ${html(s.scheme === 'bearer' ? 'Bearer' : s.scheme)} &lt;${html(s.bearerFormat ?? 'token')}&gt;</code>`
              : `header <code>${html(s.name)}</code>`;
          return `<li><b>${html(name)}</b>: ${how} ${inline(s.description)}</li>`;
        })
        .join('')}</ul>`
    : ''
}
<nav><b>Operations</b>${groups
    .map(
      (group) =>
        `<div>${html(group.tag)}<ul>${group.ops
          .map(
            ({ path, method, op }) =>
              `<li><a href="#op-${method}-${anchor(path)}"><span class="method ${method}">${method.toUpperCase()}</span> <code>${html(
                path,
              )}</code></a> ${html(op.summary ?? '')}</li>`,
          )
          .join('')}</ul></div>`,
    )
    .join('')}</nav>
${groups
  .map(
    (group) =>
      `<h2 id="tag-${anchor(group.tag)}">${html(group.tag)}</h2>${prose(group.description)}${group.ops
        .map(({ path, method, op }) => operationHtml(path, method, op, publicByDefault))
        .join('\n')}`,
  )
  .join('\n')}
${
  schemas.length
    ? `<h2 id="schemas">Schemas</h2>${schemas
        .map(
          ([name, schema]) =>
            `<section class="definition" id="schema-${anchor(name)}"><h3><code>${html(name)}</code></h3>${schemaHtml(schema)}</section>`,
        )
        .join('\n')}`
    : ''
}
</main></body></html>`;
}
