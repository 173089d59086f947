"""The names of request fields as error messages show them ("Body is required"), marked here so
``pybabel extract`` puts them in the catalog. ``core.errors.validation_messages`` and
``core.schema.Text`` look each label up when the message is shown."""
from ..core.i18n import _

FIELD_LABELS = (
    _("Request"), _("Body"), _("Name"), _("Title"), _("Contender"), _("Contenders"), _("Answer"),
    _("Answers"), _("Question ids"), _("Question id"), _("Pack"), _("Slug"), _("Description"),
    _("Format"), _("Code"), _("Content"), _("Filename"), _("Limit"), _("Offset"), _("Id"),
    _("Seconds"), _("Player id"),
)

# states that messages name ("Round 2 is already locked", "This request was already denied")
STATES = (
    _("open"), _("locked"), _("scored"), _("cancelled"), _("ended"),
    _("pending"), _("approved"), _("denied"), _("expired"),
)
