"""The API's JSON parser: bad JSON of any kind is a 400, a body over the size limit a 413."""

import io

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    """DRF's JSONParser, bounded in size and answering 400 for JSON nested too deeply."""

    def parse(self, stream, media_type=None, parser_context=None):
        # DRF hands JSON parsers `request.body`, which Django already bounds by
        # DATA_UPLOAD_MAX_MEMORY_SIZE; a stream from anywhere else is bounded here.
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if limit is not None and not isinstance(stream, io.BytesIO):
            data = stream.read(limit + 1)
            if len(data) > limit:
                raise RequestDataTooBig("Request body exceeded DATA_UPLOAD_MAX_MEMORY_SIZE.")
            stream = io.BytesIO(data)
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            # json raises RecursionError, not ValueError, for arrays or objects nested deeper
            # than Python's recursion limit (a body of 100,000 "[" is 100 KB).
            raise ParseError("JSON parse error - the document is nested too deeply.") from None
