"""The channel managers' incentive pages: programs and rules, period close, ROI and what-if, payouts,
the reward catalog, redemptions and tier rules.

Every view is for channel managers (`ManagerRequiredMixin`) and checks one model permission of the
`incentives` app (granted to the "Channel managers" group by `partners.roles`). Manager requests run
with the partner scope disabled, so the ledger is read across partners here.

Views stay thin: forms parse, `services` write (and raise the ValidationErrors shown on the forms),
`selectors` read; the page-specific reads (the program list, period totals) are built to a fixed number of
queries. Every state change is a POST behind a confirmation page or a form.

The money forms (approve, mark paid or reject a payout; approve, fulfil or reject a redemption)
carry a one-time token (`partners.idempotency`): the services' compare-and-set already refuses a
second transition, and with the token a double click is answered "already submitted" instead of
"this payout is approved", and a form without a valid token changes nothing.
"""
