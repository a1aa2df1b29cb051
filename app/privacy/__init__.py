"""Privacy (AVG/GDPR): blanking text a platform removed, erasing and exporting what is stored about
one author, and purging what is past its retention so that reports still add up."""
