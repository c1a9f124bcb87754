"""The stateless judge: a manager settling a dispute on paper, a DMS asking who shares a deal,
and the engine's own tests ask the same engine, and get the same explanation."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from coverage.serializers import JudgeSerializer


@extend_schema(tags=["coverage"], request=JudgeSerializer, responses={200: dict})
class JudgeView(APIView):
    def post(self, request):
        serializer = JudgeSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        return Response(serializer.judge().to_dict())
