"""Read ADF leads that arrive by email from a mailbox on disk.

Lead providers that cannot post ADF over HTTP email it. Point your mail system at a
Maildir (or an mbox file, or a folder of .eml files) and run this command from cron or a
systemd timer; it is idempotent, so a message read twice creates nothing new:

    ./dev manage import_adf_mail --store lakeside-toyota /var/mail/leads/Maildir

Processed Maildir messages are moved to cur/ with the S (seen) flag, so they are read once.
"""

from __future__ import annotations

import mailbox
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from leads.intake import IntakeRejected, intake_adf_email
from org.models import Store


class Command(BaseCommand):
    help = "Import ADF/XML leads from a Maildir, an mbox file, a folder of .eml files or one .eml file."

    def add_arguments(self, parser):
        parser.add_argument("path", help="Maildir folder, mbox file, folder of .eml files, or an .eml file")
        parser.add_argument("--store", required=True, help="Slug of the store the leads are for")
        parser.add_argument("--keep-unread", action="store_true", help="Do not mark Maildir messages as seen")

    def handle(self, *args, path: str, store: str, keep_unread: bool, **options):
        target = Path(path)
        store_obj = Store.objects.filter(slug=store).first()
        if store_obj is None:
            raise CommandError(f"Unknown store {store!r}.")
        if not target.exists():
            raise CommandError(f"{target} does not exist.")
        counts = {"created": 0, "already_stored": 0, "rejected": 0}

        def take(raw: bytes, label: str) -> None:
            try:
                outcome = intake_adf_email(store=store_obj, message=raw)
            except IntakeRejected as exc:
                counts["rejected"] += 1
                self.stderr.write(f"{label}: rejected ({exc.reason}): {exc}")
                return
            for result in outcome.results:
                counts["created" if result.created else "already_stored"] += 1

        if (target / "cur").is_dir() and (target / "new").is_dir():
            box = mailbox.Maildir(target, factory=None, create=False)
            for key in list(box.keys()):
                message = box.get_message(key)
                if "S" in message.get_flags():
                    continue
                take(box.get_bytes(key), f"maildir:{key}")
                if not keep_unread:
                    message.set_subdir("cur")
                    message.add_flag("S")
                    box[key] = message
        elif target.is_dir():
            for eml in sorted(target.glob("*.eml")):
                take(eml.read_bytes(), str(eml))
        elif target.suffix.lower() == ".eml":
            take(target.read_bytes(), str(target))
        else:
            box = mailbox.mbox(target, create=False)
            for key in box.keys():
                take(box.get_bytes(key), f"mbox:{key}")
        self.stdout.write(
            f"{counts['created']} new lead(s), {counts['already_stored']} already stored, {counts['rejected']} rejected."
        )
