# Parley gateway node. Built and run by docker-compose.yml; see docs/deploy.md.
# The full (not slim) Node image carries python3, make and g++, which better-sqlite3 needs when
# no prebuilt binary matches.
FROM node:20-bookworm AS build
WORKDIR /app
COPY . .
# npm ci runs the `prepare` script, which is the build.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
EXPOSE 8080
USER node
CMD ["node", "dist/src/main.js"]
