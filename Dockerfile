FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci && npm cache clean --force
COPY tsconfig.json drizzle.config.ts ./
COPY drizzle ./drizzle
COPY src ./src
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 4000
CMD ["node", "--import", "tsx", "src/main.ts"]
