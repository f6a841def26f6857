"""Texts partners read are stored per language (django-modeltranslation adds title_en, title_nl...)."""

from modeltranslation.translator import TranslationOptions, register

from .models import Choice, Question, Survey


@register(Survey)
class SurveyTranslationOptions(TranslationOptions):
    fields = ("title", "intro")


@register(Question)
class QuestionTranslationOptions(TranslationOptions):
    fields = ("text", "help_text")


@register(Choice)
class ChoiceTranslationOptions(TranslationOptions):
    fields = ("text",)
