"""Maintainers hear about a failed scheduled run: a Prefect automation on ``publish-dataset``.

``ceasefire automations apply`` creates (or replaces) one automation on the server at
``PREFECT_API_URL``: when a ``publish-dataset`` flow run ends Failed or Crashed, the server sends a
notification through a notification block. ``--webhook-url`` saves a custom-webhook block that
POSTs JSON (``subject``, ``body``) to that URL; ``--block TYPE/NAME`` uses
a block you created yourself, for example a Slack webhook (docs/SCHEDULED_RUNS.md).
"""

from __future__ import annotations

from uuid import UUID

from prefect.automations import Automation, EventTrigger, Posture, SendNotification
from prefect.blocks.core import Block
from prefect.blocks.notifications import CustomWebhookNotificationBlock
from prefect.client.orchestration import get_client

AUTOMATION_NAME = "ceasefire-publish-dataset-failed"
WEBHOOK_BLOCK_NAME = "ceasefire-maintainers"
FLOW_NAME = "publish-dataset"
FAILED_RUN_EVENTS = {"prefect.flow-run.Failed", "prefect.flow-run.Crashed"}

# Jinja templates the server renders when the automation fires.
SUBJECT = "ceasefire: {{ flow.name }} run {{ flow_run.name }} {{ flow_run.state.name }}"
BODY = (
    "Flow run {{ flow_run.name }} ({{ flow_run.id }}) of {{ flow.name }}"
    "{% if deployment %}, deployment {{ deployment.name }}{% endif %}, "
    "ended {{ flow_run.state.name }}: {{ flow_run.state.message }}\n"
    "Nothing was published; dist/ is as it was. Run page: {{ flow_run|ui_url }}"
)


def failed_run_trigger() -> EventTrigger:
    """Fires on the first Failed or Crashed event of a ``publish-dataset`` flow run."""
    return EventTrigger(
        expect=FAILED_RUN_EVENTS,
        match={"prefect.resource.id": "prefect.flow-run.*"},
        match_related={"prefect.resource.role": "flow", "prefect.resource.name": FLOW_NAME},
        posture=Posture.Reactive,
        threshold=1,
        within=0,
    )


def save_webhook_block(url: str) -> UUID:
    """A custom-webhook notification block that POSTs the notification as JSON to ``url``."""
    block = CustomWebhookNotificationBlock(
        name=WEBHOOK_BLOCK_NAME,
        url=url,
        method="POST",
        json_data={"subject": "{{subject}}", "body": "{{body}}", "source": "{{name}}"},
    )
    return block.save(WEBHOOK_BLOCK_NAME, overwrite=True)


def find_block_id(slug: str) -> UUID:
    """The id of a saved block given as ``type-slug/name``, e.g. ``slack-webhook/maintainers``."""
    block = Block.load(slug)
    if block._block_document_id is None:  # a block loaded from the server always has one
        raise ValueError(f"block {slug} has no id on the server")
    return block._block_document_id


def apply_failure_automation(block_document_id: UUID) -> Automation:
    """Replace the automation of this name with one that notifies through the given block.

    Applying twice leaves one automation, so the command can run on every deployment.
    """
    with get_client(sync_client=True) as client:
        for existing in client.read_automations_by_name(AUTOMATION_NAME):
            client.delete_automation(existing.id)
    automation = Automation(
        name=AUTOMATION_NAME,
        description=f"Notify the maintainers when a {FLOW_NAME} run fails or crashes.",
        trigger=failed_run_trigger(),
        actions=[SendNotification(block_document_id=block_document_id, subject=SUBJECT, body=BODY)],
    )
    return automation.create()
