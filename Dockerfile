# Production image: the webhook server and its workers. Point REDIS_URL at your Redis and set
# TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN and BOTKIT_PUBLIC_URL.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
# Every dependency at the version and hashes of requirements.lock, so every image of one commit
# has the same ones (docs/deployment.md says how to refresh the lock); in a layer of its own.
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes -r requirements.lock
COPY pyproject.toml README.md ./
COPY botkit ./botkit
COPY bots ./bots
# botkit itself, built with the locked setuptools and wheel, adding no dependency of its own.
RUN pip install --no-cache-dir --no-deps --no-build-isolation . && useradd --create-home botkit
USER botkit

# 8080: webhooks. 8081: the development sandbox and simulator (only without TWILIO_ACCOUNT_SID).
EXPOSE 8080 8081
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz')"
# BOT is MODULE[:ATTR]; mount or copy your own bot module into /app.
# WORKERS: serving processes (auto: one per core; more than one needs REDIS_URL).
# Without TWILIO_ACCOUNT_SID (development mode) botkit run refuses --host 0.0.0.0: its sandbox
# has no authentication and its webhook token is public. BOTKIT_EXPOSE_DEVELOPMENT=1 allows it.
ENV BOT=bots.echo WORKERS=auto
CMD ["sh", "-c", "exec botkit run \"$BOT\" --host 0.0.0.0 --port 8080 --workers \"$WORKERS\""]
