"""tuijian.nlp"""
