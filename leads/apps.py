from django.apps import AppConfig


class LeadsConfig(AppConfig):
    name = "leads"

    def ready(self) -> None:
        from leads import models, scoping
        from org.scoping import scope_register

        for model, rule in (
            (models.Lead, scoping.leads_for), (models.Customer, scoping.customers_for),
            (models.ContactEvent, scoping.contact_events_for), (models.RejectedIntake, scoping.rejected_intakes_for),
            (models.Task, scoping.tasks_for), (models.Appointment, scoping.appointments_for),
        ):
            scope_register(model, rule)
