/** The commented starting point `lifeboat init --config-template` writes. */
export const CONFIG_TEMPLATE = `# lifeboat.yaml — what to back up, where to, and how often.
# Check it with \`lifeboat config validate\`; editors can validate it with the
# JSON Schema printed by \`lifeboat config schema\`.
# Durations: 30s 15m 36h 7d 12w 1y. \${NAME} is replaced by the environment variable NAME.
# Relative paths are relative to this file.
version: 1

# Local catalog and run history: a cache, rebuilt from the repositories when lost.
state_dir: /var/lib/lifeboat

repositories:
  local:
    url: /var/backup/lifeboat              # a path, sftp://user@host/path or s3://bucket/prefix
    password_file: /etc/lifeboat/repo.pass # mode 0600; never put the password here
    media: disk
    location: onsite
    retention: { keep_daily: 7 }
  # usb:
  #   url: /mnt/backup-usb/lifeboat
  #   password_file: /etc/lifeboat/repo.pass
  #   media: usb
  #   location: offsite
  #   require_mount: true                  # never write into an empty mount point
  #   retention: { keep_daily: 30 }

sources:
  app-db:
    type: sqlite                           # copied with SQLite's online backup API while the app writes
    path: /var/lib/app/app.db
    rpo: 24h
    rto: 4h
    # continuous: { interval: 1s, snapshot_every: 6h, retention: 24h }   # WAL mode: every commit streamed (lifeboat replicate / serve)
  config:
    type: files
    paths: [/etc/app]
    exclude: ["secrets.yaml", "*.key"]
  # secrets:
  #   type: files
  #   paths: [/etc/app/secrets.yaml, "/etc/app/*.key"]
  #   seal_to: [age1...]                   # sealed with age to an offline key before it is stored
  # main-pg:
  #   type: postgres
  #   url: postgres://backup@127.0.0.1:5432/app
  #   password_file: /etc/lifeboat/pg.pass
  #   recent_data: { table: events, column: created_at }
  # shop:
  #   type: mysql
  #   url: mysql://backup@127.0.0.1:3306/shop
  #   password_file: /etc/lifeboat/mysql.pass
  # db-server:                             # no database in the URL: every database, listed at each run
  #   type: postgres
  #   url: postgres://backup@127.0.0.1:5432
  #   password_file: /etc/lifeboat/pg.pass
  #   exclude_databases: [scratch]         # optional; databases: [app, "shop_*"] to choose
  # cache:
  #   type: redis
  #   url: redis://127.0.0.1:6379
  # tsdb:
  #   type: victoriametrics
  #   url: http://127.0.0.1:8428
  #   data_dir: /var/lib/victoria-metrics
  # vault:
  #   type: command
  #   backup: "vault operator raft snapshot save /dev/stdout"
  #   restore: "vault operator raft snapshot restore {file}"

jobs:
  daily:
    schedule: "0 3 * * *"
    sources: [app-db, config]
    to: local
    then: [forget, check]

alerts: { overdue_after: 36h, size_change_pct: 50, max_backup_duration: 1h, free_space_warning_pct: 20, free_space_critical_pct: 10 }

server: { listen: "127.0.0.1:8528", token_file: /etc/lifeboat/api.token }
`;
