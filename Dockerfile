# syntax=docker/dockerfile:1
# taskchat's production image. Node 24 runs the TypeScript in src/ directly, so the image holds the
# sources, the committed migrations (drizzle/, applied at start-up and by the migration Job) and the
# production dependencies only. The build stage exists for the chat page's bundle (web/dist), when
# the project has a build script.

FROM node:24-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# No build script yet means nothing to bundle; the empty web/dist keeps the COPY below valid.
RUN npm run build --if-present && mkdir -p web/dist

FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

FROM node:24-slim
WORKDIR /app
ENV NODE_ENV=production HOST=0.0.0.0 PORT=3000
COPY --from=deps /app/node_modules ./node_modules
COPY package.json package-lock.json ./
COPY src ./src
COPY drizzle ./drizzle
COPY --from=build /app/web/dist ./web/dist
# Embedded PGlite (no DATABASE_URL) writes here; owned by the runtime user so `docker run` works
# without a database. Kubernetes sets DATABASE_URL and keeps the root filesystem read-only.
RUN mkdir -p .data && chown node:node .data
# The node image's unprivileged user (uid 1000); the sources stay root-owned and read-only to it.
USER node
EXPOSE 3000
# /livez never touches the database: a database outage must not get healthy containers restarted.
HEALTHCHECK --interval=30s --timeout=3s --start-period=60s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 3000) + '/livez').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# node itself as PID 1 (not npm): SIGTERM reaches the server, which drains and exits 0.
CMD ["node", "src/main.ts"]
