def roles(request):
    """Who is looking, for the navigation: a channel manager, a partner user, or neither."""
    return {
        "is_channel_manager": getattr(request, "is_channel_manager", False),
        "current_membership": getattr(request, "membership", None),
        "current_partner": getattr(request, "partner", None),
    }
